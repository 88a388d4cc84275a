//! Who may read and who may post what (README "Limits and access").
//!
//! Three route groups: ingest (`POST /v1/batch`) is open to any origin,
//! since browsers post it; reads and sealing need the read key; server
//! events need the server key. A key is sent as `Authorization: Bearer KEY`.
//! A key that is not configured leaves its group open, but only to requests
//! addressed to a loopback host, and the collector then refuses to listen
//! beyond loopback (`Access::check_listen`).

use crate::error::AppError;
use crate::routes::events::NEXT_CURSOR;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::{from_fn, Next};
use axum::response::IntoResponse;
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Shortest key accepted: guessing 16 random characters is hopeless.
pub const MIN_KEY_BYTES: usize = 16;

/// A secret that unlocks one route group. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Arc<str>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// A key of at least `MIN_KEY_BYTES` visible ASCII characters (what a
    /// header carries unchanged); `name` is the setting, for the message.
    pub fn new(name: &str, text: &str) -> Result<Key, String> {
        if text.len() < MIN_KEY_BYTES {
            return Err(format!(
                "{name} must be at least {MIN_KEY_BYTES} characters"
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "{name} must be visible ASCII characters (no spaces)"
            ));
        }
        Ok(Key(text.into()))
    }

    /// True when `presented` is this key; takes the same time whichever
    /// byte differs.
    fn admits(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }
}

/// The keys and the origins allowed to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// `SESSIONMARK_READ_KEY`: reads and sealing.
    pub read_key: Option<Key>,
    /// `SESSIONMARK_SERVER_KEY`: `POST /v1/server-events`.
    pub server_key: Option<Key>,
    /// `SESSIONMARK_READ_ORIGINS`: the only origins whose pages may read
    /// the API cross-origin (CORS). Empty: none.
    pub read_origins: Vec<HeaderValue>,
}

impl Access {
    /// The settings of keys not configured, whose routes are open.
    pub fn missing_keys(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.read_key.is_none() {
            out.push("SESSIONMARK_READ_KEY");
        }
        if self.server_key.is_none() {
            out.push("SESSIONMARK_SERVER_KEY");
        }
        out
    }

    /// Refuses an address beyond loopback while a group is open; otherwise
    /// says (as a notice to print) which groups are open, if any.
    pub fn check_listen(&self, addr: SocketAddr) -> Result<Option<String>, String> {
        let missing = self.missing_keys();
        if missing.is_empty() {
            return Ok(None);
        }
        let names = missing.join(" and ");
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{names} not set: their routes would be open, so listening on {addr} \
                 (beyond loopback) is refused; set the keys or HOST=127.0.0.1"
            ));
        }
        Ok(Some(format!(
            "{names} not set: their routes are open to loopback clients only"
        )))
    }
}

/// `router` with every route behind `key` (sent as a bearer token); with no
/// key, behind a loopback `Host` instead. `what` names the key in answers.
pub fn guard<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    key: Option<Key>,
    what: &'static str,
) -> Router<S> {
    router.layer(from_fn(move |req: Request, next: Next| {
        let key = key.clone();
        async move {
            match admit(key.as_ref(), req.headers(), what) {
                Ok(()) => next.run(req).await,
                Err(refused) => refused.into_response(),
            }
        }
    }))
}

/// Whether a request may pass, or why not.
fn admit(key: Option<&Key>, headers: &HeaderMap, what: &str) -> Result<(), AppError> {
    let Some(key) = key else {
        // Open without a key, but only to this machine: a page of another
        // site that rebinds its DNS name to 127.0.0.1 still sends its own
        // name as Host.
        return if host_is_loopback(headers) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this route has no key configured ({what}); it answers loopback hosts only"
            )))
        };
    };
    match bearer(headers) {
        Some(token) if key.admits(token) => Ok(()),
        Some(_) => Err(AppError::Unauthorized(format!("wrong {what}"))),
        None => Err(AppError::Unauthorized(format!(
            "this route needs the {what}: Authorization: Bearer KEY"
        ))),
    }
}

/// The token of `Authorization: Bearer TOKEN` (scheme in any case); none
/// when the header is missing, repeated or of another scheme.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (all.next(), all.next()) else {
        return None;
    };
    let v = value.as_bytes();
    let scheme = v.get(..7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = v.get(7..)?;
    let start = token.iter().position(|&b| b != b' ')?;
    token.get(start..)
}

/// True when the request names a loopback host (`localhost`, 127.0.0.0/8,
/// `[::1]`, any port), or names none (HTTP/1.0; no browser omits it).
fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// CORS of the read routes: only the configured origins, with the bearer
/// header; none at all when no origin is configured.
pub fn read_cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            // A cross-origin reader of `GET /v1/events` needs it to page on.
            .expose_headers([NEXT_CURSOR.clone()])
            .max_age(Duration::from_secs(86_400)),
    )
}

/// `SESSIONMARK_READ_ORIGINS`: a comma list of origins (`https://host[:port]`).
pub fn parse_origins(text: &str) -> Result<Vec<HeaderValue>, String> {
    let mut out = Vec::new();
    for origin in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let valid = rest.is_some_and(|r| !r.is_empty() && !r.contains(['/', '?', '#', ' ', '*']));
        let value = HeaderValue::from_str(origin).ok().filter(|_| valid);
        let Some(value) = value else {
            return Err(format!(
                "SESSIONMARK_READ_ORIGINS: {origin:?} is not an origin like https://dash.example.com"
            ));
        };
        out.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const K: &str = "0123456789abcdef-key";

    #[test]
    fn a_key_is_admitted_only_as_an_exact_bearer_token() {
        let key = Key::new("K", K).unwrap();
        let ok = |h: &HeaderMap| admit(Some(&key), h, "read key").is_ok();
        assert!(ok(&headers(&[("authorization", &format!("Bearer {K}"))])));
        assert!(ok(&headers(&[("authorization", &format!("bearer  {K}"))])));
        assert!(!ok(&headers(&[])));
        assert!(!ok(&headers(&[("authorization", K)])));
        assert!(!ok(&headers(&[("authorization", &format!("Basic {K}"))])));
        assert!(!ok(&headers(&[("authorization", &format!("Bearer {K}x"))])));
        assert!(!ok(&headers(&[(
            "authorization",
            "Bearer 0123456789abcdef-ke"
        )])));
        let twice = format!("Bearer {K}");
        assert!(!ok(&headers(&[
            ("authorization", &twice),
            ("authorization", &twice)
        ])));
    }

    #[test]
    fn a_refused_key_is_answered_401_with_www_authenticate_bearer() {
        let key = Key::new("K", K).unwrap();
        let res = admit(Some(&key), &headers(&[]), "read key")
            .unwrap_err()
            .into_response();
        assert_eq!(res.status(), axum::http::StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn short_or_spaced_keys_are_refused_at_start() {
        assert!(Key::new("K", "short").is_err());
        assert!(Key::new("K", "0123456789 abcdef").is_err());
        assert!(Key::new("K", K).is_ok());
    }

    #[test]
    fn without_a_key_only_loopback_hosts_are_admitted() {
        let open = |host: &str| admit(None, &headers(&[("host", host)]), "read key").is_ok();
        for host in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(open(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "192.168.1.2",
            "[::2]:80",
            "localhost.evil",
        ] {
            assert!(!open(host), "{host}");
        }
        assert!(admit(None, &headers(&[]), "read key").is_ok());
    }

    #[test]
    fn listening_beyond_loopback_needs_both_keys() {
        let open = Access::default();
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(open.check_listen(lo).unwrap().is_some());
        assert!(open.check_listen(any).is_err());
        let keyed = Access {
            read_key: Some(Key::new("K", K).unwrap()),
            server_key: Some(Key::new("K", K).unwrap()),
            read_origins: Vec::new(),
        };
        assert_eq!(keyed.check_listen(any), Ok(None));
        let half = Access {
            server_key: None,
            ..keyed
        };
        assert!(half
            .check_listen(any)
            .unwrap_err()
            .contains("SESSIONMARK_SERVER_KEY"));
    }

    #[test]
    fn read_origins_are_a_comma_list_of_plain_origins() {
        let o = parse_origins(" https://dash.example.com, http://localhost:5173 ,").unwrap();
        assert_eq!(o, ["https://dash.example.com", "http://localhost:5173"]);
        for bad in [
            "*",
            "dash.example.com",
            "https://x/path",
            "https://",
            "ftp://x",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
