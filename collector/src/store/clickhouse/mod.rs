//! ClickHouse, the store past one machine: any number of stateless
//! collectors in front of one ClickHouse server or cluster, through its HTTP
//! interface.
//!
//! - [`address`]: the `clickhouse://` URL of `SESSIONMARK_STORE`.
//! - [`client`]: the HTTP client (SQL in, `JSONEachRow` rows in and out).
//! - [`schema`]: the tables and why they are shaped so.
//! - [`sql`]: values written into SQL text.

pub mod address;
pub mod client;
pub mod schema;
pub mod sql;

pub use address::Address;
pub use client::{ClickHouseError, Client};
