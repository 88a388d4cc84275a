//! The sessionmark reference collector: ingests event batches into a store
//! (`store`: SQLite embedded, or another behind the same trait), drops
//! retried duplicates by `event_id`, records server-side events against
//! browser sessions, seals idle sessions, and serves the demo site, the built
//! tracker and a small read API for the dashboard and the end-to-end tests.
//!
//! `main.rs` only reads the environment and serves; everything else lives here
//! so tests can build the same router in process.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod access;
pub mod app;
pub mod bounds;
pub mod clock;
pub mod config;
pub mod error;
pub mod event_ids;
pub mod expand;
pub mod faults;
pub mod headers;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod pairing;
pub mod routes;
pub mod serve;
pub mod server_bulk;
pub mod server_event;
pub mod store;

pub use app::{router, AppState};
pub use clock::Clock;
pub use config::Config;
pub use error::AppError;
pub use store::{SharedStore, Store};
