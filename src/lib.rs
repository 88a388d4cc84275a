//! sessionmark: a browser session tracker.
//!
//! The core (every module but `web`) is plain Rust: it never reads a clock or
//! touches the browser, so every rule is tested natively with a fake clock.
//! [`tracker::Tracker`] is the core type (its doc lists the inputs, the
//! outputs and the order to call them); [`input`] is the wasm boundary as
//! data; `web` is the browser shell, compiled only for wasm32.
// On wasm32 the tracker is `no_std` (alloc only): std's panic and formatting
// machinery cost more than half of the wasm (README "Size").
#![cfg_attr(target_arch = "wasm32", no_std)]
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

extern crate alloc;

pub mod batch;
pub mod command;
pub mod config;
pub mod cookies;
pub mod delivery;
pub mod engagement;
pub mod ids;
pub mod input;
pub mod json;
pub mod outbox;
pub mod rand;
pub mod session;
pub mod store;
pub mod text;
pub mod time;
pub mod tracker;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod wire;
