//! The ClickHouse server of a test run, and a fresh database per test.
//!
//! `scripts/test.sh` starts one server for the whole run and names it in
//! `SESSIONMARK_TEST_CLICKHOUSE`; without it (a plain `cargo test`), the
//! first test that asks starts one for this test binary with the same
//! helper (`node scripts/clickhouse.mjs serve`), which stops it when this
//! process exits and closes the helper's input.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The variable `scripts/test.sh` sets to `http://127.0.0.1:PORT`.
pub const SERVER_VAR: &str = "SESSIONMARK_TEST_CLICKHOUSE";

struct Started {
    // Held, never read: its stdin closing (at exit) stops the server.
    _helper: Option<Child>,
    url: String,
}

/// `http://127.0.0.1:PORT` of the test run's ClickHouse server.
pub fn server_url() -> &'static str {
    static SERVER: OnceLock<Started> = OnceLock::new();
    &SERVER
        .get_or_init(|| match std::env::var(SERVER_VAR) {
            Ok(url) if !url.trim().is_empty() => Started {
                _helper: None,
                url: url.trim().trim_end_matches('/').to_owned(),
            },
            _ => start_helper(),
        })
        .url
}

fn start_helper() -> Started {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = Command::new("node")
        .arg(root.join("scripts/clickhouse.mjs"))
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node scripts/clickhouse.mjs: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(url) = line.trim().strip_prefix("clickhouse listening on ") else {
        let _ = child.kill();
        panic!(
            "ClickHouse did not start ({line:?}); run scripts/setup.sh, or set {SERVER_VAR} to a server"
        );
    };
    Started {
        url: url.to_owned(),
        _helper: Some(child),
    }
}

/// `host:port` of the test run's server.
pub fn host_port() -> &'static str {
    server_url()
        .strip_prefix("http://")
        .unwrap_or_else(|| server_url())
}

/// A database name no other test (of this or any other process) uses.
pub fn fresh_database(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let tag: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!(
        "test_{tag}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `clickhouse://host:port/DATABASE` for a fresh database.
pub fn fresh_store_url(tag: &str) -> String {
    format!("clickhouse://{}/{}", host_port(), fresh_database(tag))
}
