//! sessionmark: a browser session tracker.
//!
//! The core (every module but `web`) is plain Rust: it never reads a clock or
//! touches the browser, so every rule is tested natively with a fake clock.
//! `web` is the browser shell, compiled only for wasm32.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod batch;
pub mod config;
pub mod ids;
pub mod json;
pub mod outbox;
pub mod rand;
pub mod session;
pub mod store;
pub mod time;
pub mod tracker;
pub mod wire;
