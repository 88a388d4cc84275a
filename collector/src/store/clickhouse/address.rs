//! Where the ClickHouse store lives: `clickhouse://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE]`.
//!
//! The URL names ClickHouse's HTTP interface (plain HTTP; put TLS in front
//! of it when the network is not private). User and password may be
//! percent-encoded in the URL; when the URL has none,
//! `SESSIONMARK_CLICKHOUSE_USER` / `SESSIONMARK_CLICKHOUSE_PASSWORD` give
//! them, and without either ClickHouse's `default` user is used.

use percent_encoding::percent_decode_str;

/// ClickHouse's HTTP port when the URL names none.
pub const DEFAULT_PORT: u16 = 8123;
/// The database when the URL names none.
pub const DEFAULT_DATABASE: &str = "sessionmark";
/// Longest database name accepted (ClickHouse's own limit is the file system's).
const MAX_DATABASE_BYTES: usize = 64;

/// A parsed `clickhouse://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    /// A name, an IPv4 address, or an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
    /// Letters, digits and `_`, not starting with a digit: it is written
    /// into SQL as a bare identifier.
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

// The password never goes to logs or error messages.
impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Address")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Address {
    /// Parses the URL; `env` looks up the user and password variables, used
    /// only when the URL carries no credentials.
    pub fn parse(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Address, String> {
        let rest = url
            .trim()
            .strip_prefix("clickhouse://")
            .ok_or_else(|| format!("{}: not a clickhouse:// URL", redacted(url)))?;
        let bad = |why: &str| format!("{}: {why}", redacted(url));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad HOST:PORT"))?;
        let database = match path.trim_end_matches('/') {
            "" => DEFAULT_DATABASE.to_owned(),
            db if is_identifier(db) => db.to_owned(),
            _ => {
                return Err(bad(
                    "the database must be letters, digits and _ (not starting with a digit)",
                ))
            }
        };
        let (user, password) = match userinfo {
            Some(info) => {
                let (u, p) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = decode(u).ok_or_else(|| bad("the user is not UTF-8"))?;
                let password = match p {
                    Some(p) => Some(decode(p).ok_or_else(|| bad("the password is not UTF-8"))?),
                    None => None,
                };
                (Some(user).filter(|u| !u.is_empty()), password)
            }
            None => (None, None),
        };
        let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
        let (user, password) = if user.is_none() && password.is_none() {
            (
                nonempty("SESSIONMARK_CLICKHOUSE_USER"),
                nonempty("SESSIONMARK_CLICKHOUSE_PASSWORD"),
            )
        } else {
            (user, password)
        };
        Ok(Address {
            host,
            port,
            database,
            user,
            password,
        })
    }

    /// The HTTP origin of the server (`http://host:port`).
    pub fn origin(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }

    /// The URL without its password, for the start-up line and errors.
    pub fn display(&self) -> String {
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("clickhouse://{user}{host}:{}/{}", self.port, self.database)
    }
}

/// True for names written into SQL unquoted: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= MAX_DATABASE_BYTES
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse::<u16>().ok().filter(|&p| p > 0)?,
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    host_ok.then(|| (host.to_owned(), port))
}

/// The URL with any password replaced, for messages about a URL that did
/// not parse.
fn redacted(url: &str) -> String {
    let Some(rest) = url.trim().strip_prefix("clickhouse://") else {
        return "SESSIONMARK_STORE".to_owned();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let slash = if rest.contains('/') { "/" } else { "" };
    match authority.rsplit_once('@') {
        Some((info, hostport)) if info.contains(':') => {
            let user = info.split(':').next().unwrap_or("");
            format!("clickhouse://{user}:***@{hostport}{slash}{path}")
        }
        _ => format!("clickhouse://{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn host_port_and_database_are_read_from_the_url() {
        let a = Address::parse("clickhouse://127.0.0.1:8124/analytics", no_env).unwrap();
        assert_eq!(
            a,
            Address {
                host: "127.0.0.1".into(),
                port: 8124,
                database: "analytics".into(),
                user: None,
                password: None,
            }
        );
        assert_eq!(a.origin(), "http://127.0.0.1:8124");
        assert_eq!(a.display(), "clickhouse://127.0.0.1:8124/analytics");
    }

    #[test]
    fn the_port_and_database_default_to_8123_and_sessionmark() {
        for url in ["clickhouse://ch.internal", "clickhouse://ch.internal/"] {
            let a = Address::parse(url, no_env).unwrap();
            assert_eq!(
                (a.port, a.database.as_str()),
                (8123, "sessionmark"),
                "{url}"
            );
        }
    }

    #[test]
    fn ipv6_hosts_are_written_in_brackets() {
        let a = Address::parse("clickhouse://[::1]:9123/db", no_env).unwrap();
        assert_eq!(a.host, "::1");
        assert_eq!(a.origin(), "http://[::1]:9123");
        assert_eq!(a.display(), "clickhouse://[::1]:9123/db");
    }

    #[test]
    fn credentials_in_the_url_are_percent_decoded_and_win_over_the_environment() {
        let env = |k: &str| Some(format!("from-env-{k}"));
        let a = Address::parse("clickhouse://writer:p%40ss%3Aword@h:1/db", env).unwrap();
        assert_eq!(a.user.as_deref(), Some("writer"));
        assert_eq!(a.password.as_deref(), Some("p@ss:word"));
    }

    #[test]
    fn without_credentials_in_the_url_the_environment_gives_them() {
        let env = |k: &str| match k {
            "SESSIONMARK_CLICKHOUSE_USER" => Some("ingest".to_owned()),
            "SESSIONMARK_CLICKHOUSE_PASSWORD" => Some("s3cret".to_owned()),
            _ => None,
        };
        let a = Address::parse("clickhouse://h:1/db", env).unwrap();
        assert_eq!(a.user.as_deref(), Some("ingest"));
        assert_eq!(a.password.as_deref(), Some("s3cret"));
    }

    #[test]
    fn the_password_never_shows_in_display_debug_or_errors() {
        let a = Address::parse("clickhouse://u:hunter2@h:1/db", no_env).unwrap();
        assert!(!a.display().contains("hunter2"));
        assert!(!format!("{a:?}").contains("hunter2"));
        let e = Address::parse("clickhouse://u:hunter2@h:bad/db", no_env).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("u:***@"), "{e}");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for url in [
            "http://h:1/db",
            "clickhouse://",
            "clickhouse://:8123/db",
            "clickhouse://h:0/db",
            "clickhouse://h:70000/db",
            "clickhouse://h:x/db",
            "clickhouse://h:1/my-db",
            "clickhouse://h:1/1db",
            "clickhouse://h:1/db;DROP",
            "clickhouse://h:1/a/b",
            "clickhouse://h h:1/db",
            "clickhouse://[::1/db",
        ] {
            assert!(Address::parse(url, no_env).is_err(), "{url}");
        }
    }
}
