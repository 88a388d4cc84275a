//! The real collector binary on a free loopback port.

use super::TempDir;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The collector binary: this build's, or `SESSIONMARK_COLLECTOR_BIN` (to
/// run these tests against another build, such as an older one).
pub fn binary() -> String {
    std::env::var("SESSIONMARK_COLLECTOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sessionmark-collector").to_owned())
}

pub struct Collector {
    pub child: Child,
    pub addr: String,
}

impl Collector {
    /// Starts the binary on a free port and waits for its "listening" line.
    pub fn start(db: &Path, site: &TempDir) -> Collector {
        Collector::start_with(db, site, &[])
    }

    /// `start_with` on a fresh temporary folder (removed when the returned
    /// folder is dropped).
    pub fn in_temp(tag: &str, env: &[(&str, &str)]) -> (Collector, TempDir) {
        let dir = TempDir::new(tag);
        let c = Collector::start_with(&dir.0.join("db.sqlite"), &dir, env);
        (c, dir)
    }

    /// `start`, with extra environment variables.
    pub fn start_with(db: &Path, site: &TempDir, env: &[(&str, &str)]) -> Collector {
        let db_text = db.to_str().unwrap();
        let mut all = vec![("SESSIONMARK_DB", db_text)];
        all.extend_from_slice(env);
        let (c, store_line) = Collector::launch(site, &all);
        let want = format!("sessionmark collector store: sqlite {}\n", db.display());
        assert_eq!(store_line, want, "the second line names the store");
        c
    }

    /// Starts the binary on a free port with `env` (no store variable of its
    /// own: SQLite at its default path unless `env` names one); returns once
    /// it printed its listening line, with its second line (the store).
    pub fn launch(site: &TempDir, env: &[(&str, &str)]) -> (Collector, String) {
        let (www, dist) = super::site(site);
        let mut child = Command::new(binary())
            .env("PORT", "0")
            .env_remove("HOST")
            .env_remove("SESSIONMARK_TEST_HOOKS")
            .env_remove("SESSIONMARK_SEAL_AFTER_MS")
            .env_remove("SESSIONMARK_READ_KEY")
            .env_remove("SESSIONMARK_SERVER_KEY")
            .env_remove("SESSIONMARK_STORE")
            .env("SESSIONMARK_WWW", www)
            .env("SESSIONMARK_DIST", dist)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let prefix = "sessionmark collector listening on http://127.0.0.1:";
        let Some(port) = line.trim_end().strip_prefix(prefix) else {
            let _ = child.kill();
            panic!("unexpected start-up line {line:?}");
        };
        let port: u16 = port.parse().unwrap();
        assert_ne!(port, 0);
        let mut store_line = String::new();
        out.read_line(&mut store_line).unwrap();
        let c = Collector {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        (c, store_line)
    }

    /// One HTTP/1.1 exchange on a fresh connection; returns status and body.
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.request_with(method, path, "", body)
    }

    /// `request` with more header lines (each ending in `\r\n`).
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, rest.to_owned())
    }

    /// Every stored event id, following `X-Next-Cursor` page by page.
    pub fn all_event_ids(&self) -> Vec<String> {
        self.listed_event_ids("", 5000)
    }

    /// The event ids `GET /v1/events?{filter}` lists (`filter`: such as
    /// `session_id=...&`, or empty), `limit` a page, every page in order.
    pub fn listed_event_ids(&self, filter: &str, limit: u32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut path = format!("/v1/events?{filter}limit={limit}");
        loop {
            let (status, head, body) = exchange(&self.addr, "GET", &path, "").unwrap();
            assert_eq!(status, 200, "{body}");
            let page: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
            ids.extend(
                page.iter()
                    .map(|e| e["event_id"].as_str().unwrap().to_owned()),
            );
            let cursor = head
                .lines()
                .find_map(|l| l.strip_prefix("x-next-cursor: "))
                .map(str::to_owned);
            match cursor {
                Some(c) => path = format!("/v1/events?{filter}limit={limit}&cursor={c}"),
                None => return ids,
            }
        }
    }

    /// The collector's resident memory, in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// One HTTP/1.1 exchange on a fresh connection: status, head, body; an
/// error when the collector is gone.
pub fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let bad = || std::io::Error::other(format!("not an HTTP answer: {raw:?}"));
    let (head, rest) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, head.to_ascii_lowercase(), rest.to_owned()))
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
