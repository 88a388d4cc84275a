//! The browser shell: the one export the JS shim calls. Everything it does
//! is [`crate::input::handle`] on the page's one tracker; the shim reads
//! the page, the clock, storage and random bytes, and carries out the
//! commands that come back. The wasm imports nothing from the browser.
//!
//! Text crosses through one buffer in the wasm's memory instead of
//! wasm-bindgen's string glue (its allocator exports, the multivalue return
//! and the glue's UTF-8 helpers: 330 B brotli of the script tag; README
//! "Size"):
//! 1. `input(BUFFER, 0, n)` makes the buffer hold at least `n` bytes and
//!    answers where it starts; the shim writes the input's UTF-8 there;
//! 2. `input(code, now, n)` handles input `code` with those `n` bytes as its
//!    text, and answers where its reply starts: UTF-8 (`command, ...,
//!    answer]`, a JSON array without its opening bracket, see
//!    `crate::command`) ended by a zero byte, which JSON text never holds
//!    (its strings escape every control character). The reply stays until
//!    the next call.

pub mod allocator;
#[cfg(feature = "bundle")]
mod runtime;

use crate::time::Millis;
use crate::tracker::Tracker;
use alloc::vec::Vec;
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

/// The code of the buffer request (step 1 above); any other code is an
/// input of `crate::input::Code`.
pub const BUFFER: u32 = 255;

/// The page's tracker and the text buffer. wasm32 without threads: a plain
/// static. Built at compile time (`Tracker::new` is a `const fn`): its
/// initial state is data in the module, not code (README "Size").
struct Global(RefCell<(Tracker, Vec<u8>)>);
// SAFETY: this wasm has one thread (no atomics), so nothing is shared.
unsafe impl Sync for Global {}
static STATE: Global = Global(RefCell::new((Tracker::new(), Vec::new())));

/// Input `code` at `now` (`Date.now()`) whose text is the buffer's first
/// `len` bytes; answers the reply's address (see the module's doc). Code
/// [`BUFFER`] makes room for `len` bytes and answers the buffer's address.
#[wasm_bindgen]
pub fn input(code: u32, now: f64, len: u32) -> u32 {
    let Ok(mut slot) = STATE.0.try_borrow_mut() else {
        // Only if re-entered, which the shim never does.
        return 0;
    };
    let (tracker, buffer) = &mut *slot;
    let len = usize::try_from(len).unwrap_or(0);
    if code == BUFFER {
        *buffer = alloc::vec![0; len];
    } else {
        let bytes = buffer.get(..len).unwrap_or_default();
        // SAFETY: the shim writes TextEncoder's output there, which is
        // always UTF-8 (wasm-bindgen's own string glue relies on the same).
        let text = unsafe { core::str::from_utf8_unchecked(bytes) };
        let mut reply = crate::input::handle(tracker, code, Millis::from_f64(now), text);
        reply.push('\0');
        *buffer = reply.into_bytes();
    }
    buffer.as_ptr() as u32
}
