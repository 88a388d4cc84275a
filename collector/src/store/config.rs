//! Which store the collector runs on: `SESSIONMARK_STORE`.

use std::path::PathBuf;

/// The default SQLite database, relative to the working folder.
pub const DEFAULT_DB: &str = ".data/sessionmark.db";

/// The store named by the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// An embedded SQLite database at this path (its folder is created).
    Sqlite(PathBuf),
    /// A ClickHouse server, as `clickhouse://HOST:PORT/DATABASE` (its HTTP
    /// interface).
    ClickHouse(String),
}

impl StoreConfig {
    /// `SESSIONMARK_STORE` (`store`) decides: unset means SQLite at
    /// `SESSIONMARK_DB` (`db`, default [`DEFAULT_DB`]); a `clickhouse://` URL
    /// means ClickHouse; any other value without a scheme is a SQLite path
    /// (and wins over `SESSIONMARK_DB`). Other schemes are refused.
    pub fn from_settings(store: Option<&str>, db: Option<&str>) -> Result<StoreConfig, String> {
        let Some(store) = store.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(StoreConfig::Sqlite(db.unwrap_or(DEFAULT_DB).into()));
        };
        match store.split_once("://") {
            Some(("clickhouse", _)) => Ok(StoreConfig::ClickHouse(store.to_owned())),
            Some((scheme, _)) => Err(format!(
                "SESSIONMARK_STORE: unknown store {scheme:?}; use a SQLite path or clickhouse://HOST:PORT/DATABASE"
            )),
            None => Ok(StoreConfig::Sqlite(store.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_store_setting_means_sqlite_at_the_db_setting_or_the_default() {
        assert_eq!(
            StoreConfig::from_settings(None, None),
            Ok(StoreConfig::Sqlite(DEFAULT_DB.into()))
        );
        assert_eq!(
            StoreConfig::from_settings(Some(" "), Some("/tmp/x.db")),
            Ok(StoreConfig::Sqlite("/tmp/x.db".into()))
        );
    }

    #[test]
    fn a_path_is_sqlite_and_wins_over_the_db_setting() {
        assert_eq!(
            StoreConfig::from_settings(Some("data/a.db"), Some("b.db")),
            Ok(StoreConfig::Sqlite("data/a.db".into()))
        );
    }

    #[test]
    fn a_clickhouse_url_is_clickhouse_and_other_schemes_are_refused() {
        assert_eq!(
            StoreConfig::from_settings(Some("clickhouse://127.0.0.1:8123/sessionmark"), None),
            Ok(StoreConfig::ClickHouse(
                "clickhouse://127.0.0.1:8123/sessionmark".into()
            ))
        );
        assert!(StoreConfig::from_settings(Some("postgres://x/y"), None).is_err());
    }
}
