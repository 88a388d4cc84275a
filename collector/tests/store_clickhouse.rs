//! The store behaviour suite on ClickHouse (the test run's server, a fresh
//! database per case).

mod common;
mod store_suite;

use common::clickhouse::fresh_store_url;
use sessionmark_collector::store::clickhouse::{Address, ClickHouseStore, Limits};
use std::sync::Arc;
use store_suite::Fixture;

async fn open() -> Fixture {
    let address = Address::parse(&fresh_store_url("suite"), |_| None).unwrap();
    let store = ClickHouseStore::open(address, Limits::default())
        .await
        .unwrap();
    Fixture::new(Arc::new(store), ())
}

store_suite!(open);
