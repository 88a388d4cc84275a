//! Settings, read from the environment once at start-up.

use crate::access::{parse_origins, Access, Key};
use crate::limits::{Limits, Rate, MIN_KIB_BURST};
use crate::store::{StoreConfig, DEFAULT_SEAL_AFTER_MS};
use axum::http::HeaderName;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// Where the collector listens and what it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `HOST`, default `127.0.0.1` (an address or a resolvable name).
    pub host: String,
    /// `PORT`, default 8080; 0 picks a free port (printed at start-up).
    pub port: u16,
    /// `SESSIONMARK_STORE`, else SQLite at `SESSIONMARK_DB` (default
    /// `.data/sessionmark.db`; its folder is created). See [`StoreConfig`].
    pub store: StoreConfig,
    /// `SESSIONMARK_WWW`, default `www`: served at `/`.
    pub www: PathBuf,
    /// `SESSIONMARK_DIST`, default `dist`: served at `/dist/`.
    pub dist: PathBuf,
    /// `SESSIONMARK_TEST_HOOKS=1` adds `POST /v1/_test/fail`.
    pub test_hooks: bool,
    /// `SESSIONMARK_SEAL_AFTER_MS`, default 1800000 (30 min): a session idle
    /// longer than this is sealed when more of its events arrive.
    pub seal_after_ms: u64,
    /// The keys and read origins (`SESSIONMARK_READ_KEY`,
    /// `SESSIONMARK_SERVER_KEY`, `SESSIONMARK_READ_ORIGINS`).
    pub access: Access,
    /// Timeouts, the connection cap and the rate limits.
    pub limits: Limits,
    /// `SESSIONMARK_CSP_CONNECT_SRC` (unset): sources the served pages may
    /// connect to besides their own origin, added to the CSP's `connect-src`.
    pub csp_connect_src: Option<String>,
    /// `SESSIONMARK_GOALS`: event names that count as conversions, a comma
    /// list; default `purchase`.
    pub goals: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the settings from any key lookup; an empty value counts as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let port = match var("PORT") {
            None => 8080,
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| format!("PORT must be a number from 0 to 65535, got {p:?}"))?,
        };
        let seal_after_ms = match var("SESSIONMARK_SEAL_AFTER_MS") {
            None => DEFAULT_SEAL_AFTER_MS,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|&ms| ms > 0)
                .ok_or_else(|| {
                    format!("SESSIONMARK_SEAL_AFTER_MS must be a positive number of ms, got {v:?}")
                })?,
        };
        let key = |name: &str| var(name).map(|k| Key::new(name, k.trim())).transpose();
        let access = Access {
            read_key: key("SESSIONMARK_READ_KEY")?,
            server_key: key("SESSIONMARK_SERVER_KEY")?,
            read_origins: var("SESSIONMARK_READ_ORIGINS")
                .map(|o| parse_origins(&o))
                .transpose()?
                .unwrap_or_default(),
        };
        let csp_connect_src = match var("SESSIONMARK_CSP_CONNECT_SRC") {
            Some(v) if v.bytes().any(|b| matches!(b, b';' | b',' | b'\r' | b'\n')) => {
                return Err(format!(
                    "SESSIONMARK_CSP_CONNECT_SRC must be space-separated CSP sources, got {v:?}"
                ))
            }
            other => other.map(|v| v.trim().to_owned()),
        };
        Ok(Config {
            access,
            limits: limits(&var)?,
            csp_connect_src,
            goals: crate::metrics::goals_from(var("SESSIONMARK_GOALS").as_deref()),
            host: var("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            store: StoreConfig::from_settings(
                var("SESSIONMARK_STORE").as_deref(),
                var("SESSIONMARK_DB").as_deref(),
            )?,
            www: var("SESSIONMARK_WWW").map_or_else(|| "www".into(), PathBuf::from),
            dist: var("SESSIONMARK_DIST").map_or_else(|| "dist".into(), PathBuf::from),
            test_hooks: var("SESSIONMARK_TEST_HOOKS").as_deref() == Some("1"),
            seal_after_ms,
        })
    }
}

/// A whole number from `min` up, or the default when unset.
fn number(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    min: u64,
) -> Result<u64, String> {
    let Some(v) = var(name) else {
        return Ok(default);
    };
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|&n| n >= min)
        .ok_or_else(|| format!("{name} must be a whole number of at least {min}, got {v:?}"))
}

fn limits(var: &impl Fn(&str) -> Option<String>) -> Result<Limits, String> {
    let d = Limits::default();
    let ms = |name: &str, default: Duration| -> Result<Duration, String> {
        let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        number(var, name, default, 1).map(Duration::from_millis)
    };
    let per = |name: &str, default: NonZeroU32, min: u32| -> Result<NonZeroU32, String> {
        let n = number(var, name, u64::from(default.get()), u64::from(min))?;
        u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| format!("{name} is too large"))
    };
    let client_ip_header = match var("SESSIONMARK_CLIENT_IP_HEADER") {
        None => None,
        Some(h) => Some(HeaderName::try_from(h.trim()).map_err(|_| {
            format!("SESSIONMARK_CLIENT_IP_HEADER must be a header name, got {h:?}")
        })?),
    };
    Ok(Limits {
        header_timeout: ms("SESSIONMARK_HEADER_TIMEOUT_MS", d.header_timeout)?,
        body_timeout: ms("SESSIONMARK_BODY_TIMEOUT_MS", d.body_timeout)?,
        max_connections: usize::try_from(number(
            var,
            "SESSIONMARK_MAX_CONNECTIONS",
            u64::try_from(d.max_connections).unwrap_or(u64::MAX),
            1,
        )?)
        .unwrap_or(usize::MAX),
        rate: Rate {
            requests_per_sec: per(
                "SESSIONMARK_RATE_REQUESTS_PER_SEC",
                d.rate.requests_per_sec,
                1,
            )?,
            requests_burst: per("SESSIONMARK_RATE_REQUESTS_BURST", d.rate.requests_burst, 1)?,
            kib_per_sec: per("SESSIONMARK_RATE_KIB_PER_SEC", d.rate.kib_per_sec, 1)?,
            kib_burst: per(
                "SESSIONMARK_RATE_KIB_BURST",
                d.rate.kib_burst,
                MIN_KIB_BURST,
            )?,
        },
        client_ip_header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_variables_give_the_documented_defaults() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8080);
        assert_eq!(
            c.store,
            StoreConfig::Sqlite(PathBuf::from(".data/sessionmark.db"))
        );
        assert_eq!(c.www, PathBuf::from("www"));
        assert_eq!(c.dist, PathBuf::from("dist"));
        assert!(!c.test_hooks);
        assert_eq!(c.seal_after_ms, 1_800_000);
        assert_eq!(c.access, Access::default());
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.csp_connect_src, None);
        assert_eq!(c.goals, ["purchase"]);
    }

    fn with(pairs: &'static [(&'static str, &'static str)]) -> Result<Config, String> {
        Config::from_lookup(|k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn limits_are_read_from_their_variables() {
        let c = with(&[
            ("SESSIONMARK_HEADER_TIMEOUT_MS", "1000"),
            ("SESSIONMARK_BODY_TIMEOUT_MS", "2000"),
            ("SESSIONMARK_MAX_CONNECTIONS", "50"),
            ("SESSIONMARK_RATE_REQUESTS_PER_SEC", "3"),
            ("SESSIONMARK_RATE_REQUESTS_BURST", "4"),
            ("SESSIONMARK_RATE_KIB_PER_SEC", "5"),
            ("SESSIONMARK_RATE_KIB_BURST", "2048"),
            ("SESSIONMARK_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ])
        .unwrap();
        let l = c.limits;
        assert_eq!(l.header_timeout, Duration::from_secs(1));
        assert_eq!(l.body_timeout, Duration::from_secs(2));
        assert_eq!(l.max_connections, 50);
        assert_eq!(l.rate.requests_per_sec.get(), 3);
        assert_eq!(l.rate.requests_burst.get(), 4);
        assert_eq!(l.rate.kib_per_sec.get(), 5);
        assert_eq!(l.rate.kib_burst.get(), 2048);
        assert_eq!(l.client_ip_header.unwrap(), "x-forwarded-for");
    }

    #[test]
    fn a_bad_limit_names_its_variable() {
        for (name, value) in [
            ("SESSIONMARK_HEADER_TIMEOUT_MS", "0"),
            ("SESSIONMARK_BODY_TIMEOUT_MS", "1s"),
            ("SESSIONMARK_MAX_CONNECTIONS", "-5"),
            ("SESSIONMARK_RATE_REQUESTS_PER_SEC", "99999999999"),
            ("SESSIONMARK_RATE_KIB_BURST", "10"),
            ("SESSIONMARK_CLIENT_IP_HEADER", "bad header"),
            ("SESSIONMARK_READ_KEY", "short"),
            ("SESSIONMARK_READ_ORIGINS", "*"),
            ("SESSIONMARK_CSP_CONNECT_SRC", "'self'; script-src *"),
        ] {
            let err = Config::from_lookup(move |k| (k == name).then(|| value.into())).unwrap_err();
            assert!(err.contains(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn keys_and_read_origins_are_read() {
        let c = with(&[
            ("SESSIONMARK_READ_KEY", " read-key-0123456789 "),
            ("SESSIONMARK_SERVER_KEY", "server-key-0123456789"),
            ("SESSIONMARK_READ_ORIGINS", "https://dash.example.com"),
            ("SESSIONMARK_CSP_CONNECT_SRC", "http://127.0.0.1:*"),
        ])
        .unwrap();
        assert_eq!(
            c.access.read_key,
            Some(Key::new("k", "read-key-0123456789").unwrap())
        );
        assert!(c.access.server_key.is_some());
        assert_eq!(c.access.read_origins, ["https://dash.example.com"]);
        assert_eq!(c.csp_connect_src.as_deref(), Some("http://127.0.0.1:*"));
        assert!(c.access.missing_keys().is_empty());
    }

    #[test]
    fn the_seal_timeout_must_be_a_positive_number_of_ms() {
        let seal = |v: &'static str| {
            Config::from_lookup(move |k| (k == "SESSIONMARK_SEAL_AFTER_MS").then(|| v.into()))
                .map(|c| c.seal_after_ms)
        };
        assert_eq!(seal("50"), Ok(50));
        assert_eq!(seal(" 60000 "), Ok(60_000));
        assert!(seal("0").is_err());
        assert!(seal("-1").is_err());
        assert!(seal("30m").is_err());
    }

    #[test]
    fn port_zero_is_accepted_and_a_bad_port_is_an_error() {
        let c = Config::from_lookup(|k| (k == "PORT").then(|| "0".into())).unwrap();
        assert_eq!(c.port, 0);
        assert!(Config::from_lookup(|k| (k == "PORT").then(|| "http".into())).is_err());
        assert!(Config::from_lookup(|k| (k == "PORT").then(|| "70000".into())).is_err());
    }

    #[test]
    fn test_hooks_need_exactly_one() {
        let on = |v: &'static str| {
            Config::from_lookup(move |k| (k == "SESSIONMARK_TEST_HOOKS").then(|| v.into()))
                .unwrap()
                .test_hooks
        };
        assert!(on("1"));
        assert!(!on("0"));
        assert!(!on("yes"));
    }
}
