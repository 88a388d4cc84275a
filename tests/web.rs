//! Browser tests of the shell glue (wasm-bindgen-test in headless Chromium):
//! the one export, as the JS shim calls it (the text through the wasm's
//! memory), compiled to wasm32 and run in a real browser: the start's read
//! and its answer, the listen, the API answers, and the tracker in memory
//! when storage gives nothing back (the shim answers an unreadable key with
//! an empty value). The shipped allocator runs the whole test binary, and
//! is stressed on its own below. The rules themselves are proven natively.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target
//! wasm32-unknown-unknown -p sessionmark --no-default-features --test web`
//! (the test harness brings std's panic handler, so the bundle runtime is
//! switched off; the allocator is set here instead).
#![cfg(target_arch = "wasm32")]

#[path = "support/sent.rs"]
mod sent;

use core::alloc::{GlobalAlloc, Layout};
use sent::sent_events;
use serde_json::Value;
use sessionmark::ids;
use sessionmark::web::allocator::SizeClasses;
use sessionmark::web::{input, BUFFER};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The shipped allocator under everything this test binary does (the
/// harness, serde_json, the tracker).
#[global_allocator]
static ALLOC: SizeClasses = SizeClasses::new();

const T0: f64 = 1_709_318_400_000.0;

/// The text of `input`'s reply at `at`: UTF-8 up to a zero byte.
fn reply_at(at: u32) -> String {
    // SAFETY: `at` is what `input` just answered: a live, zero-ended
    // buffer, unchanged until the next call.
    let bytes = unsafe { std::ffi::CStr::from_ptr(at as *const std::ffi::c_char) };
    String::from_utf8(bytes.to_bytes().to_vec()).unwrap()
}

/// Input `code` as the shim sends it: the fields joined by line breaks,
/// written as UTF-8 where the core's buffer is, the reply read back.
fn call_text(code: u32, now: f64, text: &str) -> String {
    let at = input(BUFFER, 0.0, text.len() as u32);
    // SAFETY: `input(BUFFER, ..)` answered a buffer of at least that many bytes.
    unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), at as *mut u8, text.len()) };
    reply_at(input(code, now, text.len() as u32))
}

/// A reply read as the shim reads it (`[` added before it: the commands,
/// then the answer), returned as `[answer, command, ...]`.
fn answer_first(text: &str) -> Vec<Value> {
    let mut out: Vec<Value> = serde_json::from_str(&format!("[{text}")).unwrap();
    let answer = out.pop().unwrap();
    out.insert(0, answer);
    out
}

/// Input `code` with `fields` after 4 random words, as the shim sends it;
/// the answer first, then the commands.
fn call(code: u32, now: f64, fields: &[&str]) -> Vec<Value> {
    let words = ["1", "2", "3", "4"];
    answer_first(&call_text(
        code,
        now,
        &[&words[..], fields].concat().join("\n"),
    ))
}

fn named<'a>(out: &'a [Value], name: &str) -> Vec<&'a Value> {
    out.iter().skip(1).filter(|c| c[0] == name).collect()
}

#[wasm_bindgen_test]
fn the_export_starts_the_tracker_in_memory_when_storage_gives_nothing() {
    // Before init: null answers, nothing to do.
    assert_eq!(call(15, T0, &[""]), [Value::Null]);
    let out = call(
        0,
        T0,
        &[
            "",
            "example.com",
            "https:",
            "",
            "clientId=web-test\nbatchSize=5",
        ],
    );
    let read = named(&out, "read");
    assert_eq!(read.len(), 1, "{out:?}");
    assert_eq!(
        read[0].as_array().unwrap().len(),
        17,
        "8 keys: area and name each"
    );
    // The shim found nothing it could read.
    let out = call(2, T0, &[""; 8]);
    assert_eq!(named(&out, "listen").len(), 1, "{out:?}");
    let cookie = named(&out, "cookie")[0][1].as_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("ss_vid=anon_") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
    // Listening, the shim reports the page shown: the load's page view.
    call(
        3,
        T0,
        &[
            "true", "true", "false", "/", "", "", "", "Home", "", "0", "800", "800", "false",
        ],
    );
    let sid = call(15, T0, &[""])[0].as_str().unwrap().to_owned();
    assert!(ids::is_session_id(&sid), "{sid}");
    assert_eq!(
        call(15, T0 + 1000.0, &[""])[0],
        sid.as_str(),
        "stable in memory"
    );
    let vid = call(16, T0, &[""])[0].as_str().unwrap().to_owned();
    assert!(ids::is_visitor_id(&vid), "{vid}");
    // clear(): new ids; the page count starts again.
    call(14, T0 + 2000.0, &["0", "800", "800", "false"]);
    assert_ne!(call(15, T0 + 2000.0, &[""])[0], sid.as_str());
    assert_ne!(call(16, T0 + 2000.0, &[""])[0], vid.as_str());
    assert_eq!(call(17, T0 + 2000.0, &[])[0][0], 0);
    // A track() then flush() gives one keepalive request to the endpoint.
    call(
        11,
        T0 + 3000.0,
        &["/p", "", "", "", "t", "", "", "{}", "string", "signup"],
    );
    let out = call(13, T0 + 3000.0, &[]);
    let send = named(&out, "send");
    assert_eq!(send.len(), 1, "{out:?}");
    assert_eq!(send[0][2], "keepalive");
    assert_eq!(send[0][3], "/v1/batch");
    let events = sent_events(send[0][4].as_str().unwrap());
    let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
    // The load's view and its exit at clear(), then the new session's view
    // of the page before its first event.
    assert_eq!(names, ["screen_view", "page_exit", "screen_view", "signup"]);
    assert_eq!(events[3]["client_id"], "web-test");
    texts_of_any_length_and_script_cross_the_buffer_both_ways();
}

/// After the start: texts and replies of any length and script cross the
/// buffer both ways.
fn texts_of_any_length_and_script_cross_the_buffer_both_ways() {
    for n in [0usize, 1, 100, 5000, 8000] {
        let name = format!("é😀{}", "x".repeat(n.min(100)));
        let props = format!("{{\"k\":\"{}\"}}", "ü".repeat(n));
        call(
            11,
            T0 + 4000.0,
            &["/p", "", "", "", "t", "", "", &props, "string", &name],
        );
        let out = call(13, T0 + 4000.0, &[]);
        let send = named(&out, "send");
        assert_eq!(send.len(), 1, "{n}: {out:?}");
        let events = sent_events(send[0][4].as_str().unwrap());
        assert_eq!(events[0]["name"], name.as_str(), "{n}");
        assert_eq!(events[0]["properties"]["k"].as_str().unwrap().len(), 2 * n);
    }
    // Twenty such events (batches of 5): replies of about 80 KB, each
    // batch in requests under the 64 KiB budget.
    let props = format!("{{\"k\":\"{}\"}}", "ü".repeat(8000));
    let mut sends = 0;
    for _ in 0..20 {
        let out = call(
            11,
            T0 + 4000.0,
            &["/p", "", "", "", "t", "", "", &props, "string", "big"],
        );
        for send in named(&out, "send") {
            assert!(send[4].as_str().unwrap().len() <= 65_536);
            sends += 1;
        }
    }
    assert_eq!(sends, 8, "4 batches of 5, each split in two");
    // The buffer request answers room for what is asked, every time.
    assert!(input(BUFFER, 0.0, 3) != 0 && input(BUFFER, 0.0, 1 << 20) != 0);
    // An empty text is an empty input: the id read answers the session.
    let sid = answer_first(&call_text(15, T0 + 4000.0, ""));
    assert!(ids::is_session_id(sid[0].as_str().unwrap()), "{sid:?}");
    // An unknown code answers nothing and does nothing.
    assert_eq!(call_text(99, T0, "x"), "null]");
}

/// One deterministic pseudo-random sequence (xorshift), for the stress test.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[wasm_bindgen_test]
fn the_allocator_never_hands_out_overlapping_or_misaligned_blocks() {
    // A second instance beside the global one: both grow the same memory,
    // so each must continue where memory really ends.
    let heap = SizeClasses::new();
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..20_000u32 {
        let r = next(&mut seed);
        if live.len() < 400 && (!r.is_multiple_of(3) || live.is_empty()) {
            let size = match r % 10 {
                0 => 0,
                1..=6 => (r >> 8) as usize % 64 + 1,
                7 | 8 => (r >> 8) as usize % 4096 + 1,
                _ => (r >> 8) as usize % 200_000 + 1,
            };
            let align = 1usize << ((r >> 40) % 5);
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a valid layout (a zero size included: this allocator
            // takes it as one byte).
            let p = unsafe { heap.alloc(layout) };
            assert!(!p.is_null(), "round {round}: {layout:?}");
            assert_eq!(p as usize % align, 0, "misaligned: {layout:?}");
            let mark = (round % 251) as u8;
            // SAFETY: the block holds `size` bytes.
            unsafe { std::ptr::write_bytes(p, mark, size) };
            live.push((p, layout, mark));
        } else {
            let (p, layout, mark) = live.swap_remove((r >> 16) as usize % live.len());
            // Every byte still holds its own mark: no other block overlapped it.
            for i in 0..layout.size() {
                // SAFETY: inside the live block.
                assert_eq!(
                    unsafe { *p.add(i) },
                    mark,
                    "overwritten at {i} of {layout:?}"
                );
            }
            if r.is_multiple_of(2) {
                // SAFETY: allocated by `heap` with `layout`.
                unsafe { heap.dealloc(p, layout) };
            } else {
                // Grow or shrink it, then check what it kept, then free it.
                let new_size = (r >> 24) as usize % 10_000 + 1;
                // SAFETY: allocated by `heap` with `layout`; a non-zero size.
                let q = unsafe { heap.realloc(p, layout, new_size) };
                assert!(!q.is_null());
                for i in 0..layout.size().min(new_size) {
                    // SAFETY: inside the new block.
                    assert_eq!(unsafe { *q.add(i) }, mark, "realloc lost byte {i}");
                }
                let new = Layout::from_size_align(new_size, layout.align()).unwrap();
                // SAFETY: the realloc'd block with its new layout.
                unsafe { heap.dealloc(q, new) };
            }
        }
    }
}

#[wasm_bindgen_test]
fn freed_blocks_are_reused_so_memory_stays_flat() {
    let heap = SizeClasses::new();
    let layout = Layout::from_size_align(3000, 8).unwrap();
    // SAFETY: valid layouts; each block freed with its own layout.
    unsafe {
        let first = heap.alloc(layout);
        heap.dealloc(first, layout);
        let pages = core::arch::wasm32::memory_size(0);
        for _ in 0..10_000 {
            let p = heap.alloc(layout);
            assert_eq!(p, first, "the freed block of its class comes back");
            heap.dealloc(p, layout);
        }
        assert_eq!(core::arch::wasm32::memory_size(0), pages);
        // Alignment above 16 is refused (null), never served misaligned.
        assert!(heap
            .alloc(Layout::from_size_align(8, 64).unwrap())
            .is_null());
    }
}
