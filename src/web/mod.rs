//! The browser shell: the one export the JS shim calls. Everything it does
//! is [`crate::input::handle`] on the page's one tracker; the shim reads
//! the page, the clock, storage and random bytes, and carries out the
//! commands that come back. The wasm imports nothing from the browser.

#[cfg(feature = "bundle")]
mod runtime;

use crate::time::Millis;
use crate::tracker::Tracker;
use alloc::string::String;
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

/// The one tracker of the page. wasm32 without threads: a plain static.
struct Global(RefCell<Option<Tracker>>);
// SAFETY: this wasm has one thread (no atomics), so nothing is shared.
unsafe impl Sync for Global {}
static TRACKER: Global = Global(RefCell::new(None));

/// Input `code` at `now` (`Date.now()`) with its fields in `text` (see
/// `crate::input`); answers `[answer, command, ...]` as JSON text.
#[wasm_bindgen]
pub fn input(code: u32, now: f64, text: &str) -> String {
    match TRACKER.0.try_borrow_mut() {
        Ok(mut slot) => {
            let tracker = slot.get_or_insert_with(Tracker::new);
            crate::input::handle(tracker, code, Millis::from_f64(now), text)
        }
        // Only if re-entered, which the shim never does.
        Err(_) => String::from("[null]"),
    }
}
