//! The store behaviour suite on SQLite, and what only SQLite promises.

mod common;
mod store_suite;

use common::TempDir;
use sessionmark_collector::store::sqlite::SqliteStore;
use std::sync::Arc;
use store_suite::Fixture;

async fn open() -> Fixture {
    let dir = TempDir::new("store");
    let store = SqliteStore::open(&dir.0.join("data/store.db")).unwrap();
    Fixture::new(Arc::new(store), dir)
}

store_suite!(open);
