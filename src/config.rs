//! Options: defaults, parsing from `init({...})` values or `data-` attribute
//! strings, clamping, and the one warning each bad value earns.

use alloc::string::String;
use alloc::vec::Vec;

use crate::json::push_u64;
use crate::text::{assign, cut, pieces, push_lowercase};
use crate::time::Millis;

/// Every option of the tracker, with its default (README "Options").
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub client_id: String,
    /// Where batches go (relative URLs resolve against the page). Empty
    /// until `init` fills in the default: `/v1/batch` on the script tag's
    /// origin, or on the page's for the npm import.
    pub endpoint: String,
    pub session_timeout: Millis,
    pub max_session_length: Millis,
    pub enable_batching: bool,
    pub batch_size: u64,
    pub batch_timeout: Millis,
    /// Whether a hash-only URL change is a new page view.
    pub track_hash_changes: bool,
    /// `Domain=` of the `ss_sid`/`ss_vid` cookies; empty: host-only
    /// cookies. `init` checks it against the page's host: from then on it
    /// is the checked domain, lowercased, or empty.
    pub cookie_domain: String,
    /// Hosts (`host` or `host:port`, lowercase, comma-separated) whose
    /// `fetch`/XHR requests get the `X-Session-ID` header. Kept as the text
    /// the shim reads: a `Vec<String>` and its join cost about 1 KB of wasm.
    pub tracing_headers: String,
    /// Nothing stored or sent until `setConsent(true)`.
    pub require_consent: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config::DEFAULT
    }
}

impl Config {
    /// The defaults (README "Options"); a constant, so a tracker's
    /// initial state is data, not code.
    pub const DEFAULT: Config = Config {
        client_id: String::new(),
        endpoint: String::new(),
        session_timeout: Millis(30 * 60_000),
        max_session_length: Millis(24 * 3_600_000),
        enable_batching: true,
        batch_size: 10,
        batch_timeout: Millis(5_000),
        track_hash_changes: false,
        cookie_domain: String::new(),
        tracing_headers: String::new(),
        require_consent: false,
    };
}

/// The option names `init` accepts, in camelCase.
pub const OPTION_NAMES: &[&str] = &[
    "clientId",
    "endpoint",
    "sessionTimeout",
    "maxSessionLength",
    "enableBatching",
    "batchSize",
    "batchTimeout",
    "trackHashChanges",
    "cookieDomain",
    "tracingHeaders",
    "requireConsent",
];

/// What was wrong with an option's value (or name).
enum Problem {
    /// Said after the option's name.
    Text(&'static str),
    /// Out of `lo..=hi`: clamped to the third number. (Every range fits
    /// in 32 bits: a smaller value to move around.)
    Range(u32, u32, u32),
}

impl Problem {
    /// The console warning: `option NAME ...` (the shim adds `sessionmark: `).
    fn warning(self, name: &str) -> String {
        let mut s = String::from("option ");
        s.push_str(name);
        match self {
            Problem::Text(what) => s.push_str(what),
            Problem::Range(lo, hi, c) => {
                s.push_str(" is out of range ");
                push_u64(&mut s, lo.into());
                s.push_str("..");
                push_u64(&mut s, hi.into());
                s.push_str("; using ");
                push_u64(&mut s, c.into());
            }
        }
        s
    }
}

/// `true` or `false` into `slot`; anything else leaves it.
fn as_bool(v: &str, slot: &mut bool) -> Option<Problem> {
    match v.trim_ascii() {
        "true" => *slot = true,
        "false" => *slot = false,
        _ => return Some(Problem::Text(" must be true or false; using the default")),
    }
    None
}

/// The trimmed text into `slot`, if at most `max` bytes.
fn as_string(v: &str, max: usize, slot: &mut String) -> Option<Problem> {
    if v.len() > max {
        return Some(Problem::Text(" is too long; ignored"));
    }
    assign(slot, v.trim_ascii());
    None
}

/// A whole number clamped into `lo..=hi` into `slot` (not a number: left
/// as it is), and the problem when it had to be moved.
fn as_clamped(v: &str, lo: u32, hi: u32, slot: &mut u64) -> Option<Problem> {
    let v = v.trim_ascii();
    // A negative number is out of range too: it is clamped to `lo`.
    let (negative, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    // Whole milliseconds or counts: a fraction (digits after one `.`) is
    // dropped; a huge value stops growing past 2^32 (and is clamped below).
    let (mut n, mut whole, mut fraction) = (0u64, false, false);
    for b in digits.bytes() {
        if b == b'.' && !fraction {
            fraction = true;
        } else if !b.is_ascii_digit() {
            whole = false;
            break;
        } else if !fraction {
            whole = true;
            if n <= u64::from(u32::MAX) {
                n = n * 10 + u64::from(b - b'0');
            }
        }
    }
    if !whole {
        return Some(Problem::Text(" must be a number; using the default"));
    }
    let n = if negative { 0 } else { n };
    // Not `clamp`: its `min <= max` assertion is a panic path.
    let c = n.max(lo.into()).min(hi.into());
    *slot = c;
    // `c` is within `lo..=hi`, so it fits.
    (c != n).then_some(Problem::Range(lo, hi, u32::try_from(c).unwrap_or(hi)))
}

/// A list of hosts, comma-separated, into `hosts` (lowercased, joined by
/// commas). Each must be `host` or `host:port` (letters, digits, `-`, `.`,
/// IPv6 brackets); bad entries are dropped with one warning.
fn as_hosts(v: &str, hosts: &mut String) -> Option<Problem> {
    let mut bad = false;
    hosts.clear();
    for item in pieces(v, b',') {
        let h = item.trim_ascii();
        if h.is_empty() {
            continue;
        }
        // A loop, not `bytes().all()`: less generic code (README "Size").
        let mut ok = !h.starts_with(':');
        for b in h.bytes() {
            if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']')) {
                ok = false;
            }
        }
        if ok {
            if !hosts.is_empty() {
                hosts.push(',');
            }
            push_lowercase(hosts, h);
        } else {
            bad = true;
        }
    }
    bad.then_some(Problem::Text(
        " has entries that are not host or host:port; they were dropped",
    ))
}

impl Config {
    /// The options from `name=value` lines (the shim writes `init({...})`
    /// and the `data-` attributes so); each bad value or unknown name adds
    /// its warning to `warnings`.
    pub fn parse(text: &str, warnings: &mut Vec<String>) -> Config {
        let mut cfg = Config::default();
        for line in pieces(text, b'\n') {
            if let Some(warning) = cfg.set_line(line) {
                warnings.push(warning);
            }
        }
        cfg
    }

    /// Sets the option of one `name=value` line ([`Config::set`]). A name
    /// alone is a value the shim could not write (an object, a function):
    /// it is of the wrong type. An empty line does nothing.
    pub fn set_line(&mut self, line: &str) -> Option<String> {
        match cut(line, b'=') {
            Some((name, value)) => self.set(name, value),
            None if !line.is_empty() => {
                Some(Problem::Text(" has a value of the wrong type; ignored").warning(line))
            }
            None => None,
        }
    }

    /// Sets one option from its text, written the way `data-` attributes
    /// are: `"true"`/`"false"`, digits, comma-separated lists (the shim turns
    /// `init({...})` values into the same text, so there is one parser and
    /// the wasm needs no glue to inspect JS values). Returns a console
    /// warning when the value was bad (then the default or a clamped value
    /// stands) or the name unknown.
    pub fn set(&mut self, name: &str, v: &str) -> Option<String> {
        let problem = match name {
            "clientId" => as_string(v, 128, &mut self.client_id),
            "endpoint" => as_string(v, 2048, &mut self.endpoint),
            "cookieDomain" => as_string(v, 253, &mut self.cookie_domain),
            "enableBatching" => as_bool(v, &mut self.enable_batching),
            "trackHashChanges" => as_bool(v, &mut self.track_hash_changes),
            "requireConsent" => as_bool(v, &mut self.require_consent),
            "tracingHeaders" => as_hosts(v, &mut self.tracing_headers),
            // 1 minute .. 24 hours.
            "sessionTimeout" => as_clamped(v, 60_000, 86_400_000, &mut self.session_timeout.0),
            // At most 24 h: backends require a session to fit in 24 h from its UUIDv7 time.
            "maxSessionLength" => as_clamped(v, 60_000, 86_400_000, &mut self.max_session_length.0),
            "batchTimeout" => as_clamped(v, 100, 30_000, &mut self.batch_timeout.0),
            "batchSize" => as_clamped(v, 1, 50, &mut self.batch_size),
            _ => Some(Problem::Text(" is unknown; ignored")),
        };
        problem.map(|p| p.warning(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let c = Config::default();
        assert_eq!(c.session_timeout, Millis(1_800_000));
        assert_eq!(c.max_session_length, Millis(86_400_000));
        assert!(c.enable_batching);
        assert_eq!((c.batch_size, c.batch_timeout), (10, Millis(5000)));
    }

    #[test]
    fn out_of_range_numbers_are_clamped_with_one_warning_naming_the_option() {
        let mut c = Config::default();
        let w = c.set("batchSize", "500").unwrap();
        assert_eq!(c.batch_size, 50);
        assert!(w.contains("batchSize") && w.contains("1..50"), "{w}");
        let w = c.set("batchTimeout", "5").unwrap();
        assert_eq!(c.batch_timeout, Millis(100));
        assert!(w.contains("batchTimeout"), "{w}");
        assert_eq!(c.set("batchSize", "0").map(|_| c.batch_size), Some(1));
        let w = c.set("sessionTimeout", "-5").unwrap();
        assert_eq!(c.session_timeout, Millis(60_000), "negative: the minimum");
        assert!(
            w.contains("sessionTimeout") && w.contains("using 60000"),
            "{w}"
        );
        assert!(c
            .set("batchSize", "-")
            .unwrap()
            .contains("must be a number"));
    }

    #[test]
    fn in_range_values_are_taken_silently() {
        let mut c = Config::default();
        assert_eq!(c.set("batchSize", "20"), None);
        assert_eq!(c.set("enableBatching", "false"), None);
        assert_eq!(c.set("sessionTimeout", "600000.4"), None);
        assert_eq!(c.set("clientId", " site-1 "), None);
        assert_eq!((c.batch_size, c.enable_batching), (20, false));
        assert_eq!(c.session_timeout, Millis(600_000));
        assert_eq!(c.client_id, "site-1");
    }

    #[test]
    fn wrong_types_keep_the_default_and_warn() {
        let mut c = Config::default();
        assert!(c.set("batchSize", "ten").unwrap().contains("batchSize"));
        assert!(c
            .set("enableBatching", "yes")
            .unwrap()
            .contains("enableBatching"));
        assert!(c.set("batchSize", "NaN").is_some());
        assert_eq!(c, Config::default());
    }

    #[test]
    fn max_session_length_never_exceeds_a_day() {
        let mut c = Config::default();
        assert!(c.set("maxSessionLength", "1000000000000").is_some());
        assert_eq!(c.max_session_length, Millis(86_400_000));
    }

    #[test]
    fn unknown_options_are_named_in_the_warning() {
        assert!(Config::default()
            .set("batchSzie", "3")
            .unwrap()
            .contains("batchSzie"));
    }

    #[test]
    fn tracing_hosts_come_from_lists_or_comma_strings() {
        let mut c = Config::default();
        assert_eq!(
            c.set("tracingHeaders", "api.example.com, localhost:3000"),
            None
        );
        assert_eq!(c.tracing_headers, "api.example.com,localhost:3000");
        let w = c.set("tracingHeaders", "API.example.com,https://x/");
        assert!(w.unwrap().contains("tracingHeaders"));
        assert_eq!(c.tracing_headers, "api.example.com");
    }

    #[test]
    fn options_are_read_from_lines_with_one_warning_per_bad_value() {
        let mut warnings = Vec::new();
        let c = Config::parse(
            "clientId=site=1\nbatchSize=500\nbogus=1\n\nenableBatching=false",
            &mut warnings,
        );
        assert_eq!(c.client_id, "site=1", "only the first = separates");
        assert_eq!((c.batch_size, c.enable_batching), (50, false));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[1].contains("bogus"));
        let c = Config::parse("clientId\nbatchSize=5", &mut warnings);
        assert_eq!((c.client_id.as_str(), c.batch_size), ("", 5));
        assert_eq!(
            warnings[2],
            "option clientId has a value of the wrong type; ignored"
        );
    }

    #[test]
    fn every_listed_option_is_known() {
        for name in OPTION_NAMES {
            assert!(!Config::default()
                .set(name, "")
                .is_some_and(|w| w.contains("unknown")));
        }
    }
}
