//! Helpers shared by the collector's test binaries.
#![allow(dead_code)]

pub mod app;
pub mod clickhouse;
pub mod process;

use sessionmark::wire::{batch_body, Event, Props};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub const SESSION: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";
pub const OTHER_SESSION: &str = "sess_018e0e5c-6b00-7abc-8def-0123456789ab";
pub const VISITOR: &str = "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7";
/// 2024-03-01T18:40:00Z: well in the past of any test run.
pub const T0: u64 = 1_709_318_400_000;

/// A valid event; `n` picks its event_id and moves its timestamp `n` seconds on.
pub fn event(n: u64, name: &str) -> Event {
    Event {
        event_id: format!("018e0e5c-5a00-7abc-8def-{n:012x}"),
        name: name.into(),
        session_id: SESSION.into(),
        anonymous_id: VISITOR.into(),
        timestamp: T0 + n * 1000,
        path: format!("/page/{n}"),
        title: "Page".into(),
        referrer: String::new(),
        client_id: "demo".into(),
        page_count: Some(1),
        properties: Props(format!("{{\"n\":{n}}}")),
        ..Event::default()
    }
}

pub fn encode(e: &Event) -> String {
    let mut s = String::new();
    e.write_json(&mut s);
    s
}

/// A request body holding these events in the full shape (every field of
/// every event), as the tracker sent them before the compact shape.
pub fn body(events: &[Event]) -> String {
    let encoded: Vec<String> = events.iter().map(encode).collect();
    format!("{{\"events\":[{}]}}", encoded.join(","))
}

/// A request body holding these events in the compact shape, as the
/// tracker sends them: what they share once, in `shared`.
pub fn compact_body(events: &[Event]) -> String {
    let encoded: Vec<_> = events.iter().map(Event::encode).collect();
    batch_body(&encoded)
}

/// A fresh empty folder under the system temp dir; removed by `Drop`.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "sessionmark-collector-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A site folder with `www/index.html` and the two tracker builds in `dist/`.
pub fn site(dir: &TempDir) -> (PathBuf, PathBuf) {
    let www = dir.0.join("www");
    let dist = dir.0.join("dist");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><title>demo</title>").unwrap();
    std::fs::write(dist.join("sessionmark.js"), "window.sessionmark={};").unwrap();
    std::fs::write(dist.join("sessionmark.mjs"), "export const x = 1;").unwrap();
    // Stand-ins for the build's precompressed copies: the collector only
    // picks the file, it never decodes it.
    for (file, ext, text) in [
        ("sessionmark.js", "br", "brotli of the script"),
        ("sessionmark.js", "gz", "gzip of the script"),
        ("sessionmark.mjs", "br", "brotli of the module"),
        ("sessionmark.mjs", "gz", "gzip of the module"),
    ] {
        std::fs::write(dist.join(format!("{file}.{ext}")), text).unwrap();
    }
    (www, dist)
}
