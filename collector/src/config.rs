//! Settings, read from the environment once at start-up.

use crate::store::{StoreConfig, DEFAULT_SEAL_AFTER_MS};
use std::path::PathBuf;

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
        Ok(Config {
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
