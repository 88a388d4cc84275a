//! Which browser session a request from the site's own backend belongs to
//! (README "Backend pairing"): the `X-Session-ID` header first (exact per tab),
//! else the `ss_sid` cookie (the focused tab's session); the visitor from the
//! `ss_vid` cookie. The same rules as the JS server helper (`js/server.js`).
//!
//! Every value is checked against the strict id formats: a malformed,
//! upper-case or wrongly prefixed value is treated as absent, never echoed.

use axum::http::{header, HeaderMap, HeaderName};
use sessionmark::ids::{is_session_id, is_visitor_id};

/// The header a page forwards its tab's session id in.
pub static SESSION_HEADER: HeaderName = HeaderName::from_static("x-session-id");
/// The focused tab's session id.
pub const SESSION_COOKIE: &str = "ss_sid";
/// The visitor id.
pub const VISITOR_COOKIE: &str = "ss_vid";
/// Header values longer than this are ignored as a whole; for split
/// `Cookie` headers, their `"; "`-joined length.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Where the session id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Header,
    Cookie,
    /// No valid session id in the request.
    None,
}

/// The session and visitor a request carries, each only when valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub session_id: Option<String>,
    pub visitor_id: Option<String>,
    pub source: Source,
}

/// Reads the session (header, else cookie) and the visitor (cookie).
pub fn pair(headers: &HeaderMap) -> Pairing {
    let cookies = CookieHeaders::of(headers);
    let (session_id, source) = match session_header(headers) {
        Some(id) => (Some(id), Source::Header),
        None => match cookies.valid(SESSION_COOKIE, is_session_id) {
            Some(id) => (Some(id), Source::Cookie),
            None => (None, Source::None),
        },
    };
    Pairing {
        session_id,
        visitor_id: cookies.valid(VISITOR_COOKIE, is_visitor_id),
        source,
    }
}

/// The `X-Session-ID` value, spaces and tabs around it removed, when it is a
/// session id. Sent more than once it is ambiguous, so not used.
fn session_header(headers: &HeaderMap) -> Option<String> {
    let mut all = headers.get_all(&SESSION_HEADER).iter();
    let (Some(v), None) = (all.next(), all.next()) else {
        return None;
    };
    if v.len() > MAX_HEADER_BYTES {
        return None;
    }
    std::str::from_utf8(trim(v.as_bytes()))
        .ok()
        .filter(|v| is_session_id(v))
        .map(str::to_owned)
}

/// Every `Cookie` header of a request, in order (HTTP/2 may split one list
/// over several), or none at all when together they are too long.
struct CookieHeaders<'a>(Vec<&'a [u8]>);

impl<'a> CookieHeaders<'a> {
    fn of(headers: &'a HeaderMap) -> CookieHeaders<'a> {
        let all: Vec<&[u8]> = headers
            .get_all(header::COOKIE)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        // As one header: the values joined with "; ".
        let joined = all
            .iter()
            .map(|v| v.len() + 2)
            .sum::<usize>()
            .saturating_sub(2);
        if joined > MAX_HEADER_BYTES {
            return CookieHeaders(Vec::new());
        }
        CookieHeaders(all)
    }

    /// The value of the first cookie called `name`, if it passes `valid`
    /// as written or, failing that, percent-decoded. A later cookie of the
    /// same name is never consulted.
    fn valid(&self, name: &str, valid: fn(&str) -> bool) -> Option<String> {
        let value = self.0.iter().find_map(|h| cookie_value(h, name))?;
        if let Some(v) = std::str::from_utf8(value).ok().filter(|v| valid(v)) {
            return Some(v.to_owned());
        }
        if !value.contains(&b'%') {
            return None;
        }
        percent_decode(value)
            .and_then(|d| String::from_utf8(d).ok())
            .filter(|v| valid(v))
    }
}

/// `%XX` sequences decoded; None when one is malformed (where
/// `decodeURIComponent` throws).
fn percent_decode(v: &[u8]) -> Option<Vec<u8>> {
    let hex = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(v.len());
    let mut rest = v.iter();
    while let Some(&c) = rest.next() {
        if c == b'%' {
            let hi = hex(*rest.next()?)?;
            let lo = hex(*rest.next()?)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// The value of the first cookie exactly named `name` in one `Cookie` header:
/// pairs split on `;`, trimmed, name and value split at the first `=`, one
/// pair of surrounding double quotes removed from the value.
pub fn cookie_value<'h>(header: &'h [u8], name: &str) -> Option<&'h [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (k, v) = (pair.get(..eq)?, pair.get(eq + 1..)?);
        (trim(k) == name.as_bytes()).then(|| unquote(trim(v)))
    })
}

fn trim(b: &[u8]) -> &[u8] {
    let is_space = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |i| i + 1);
    b.get(start..end).unwrap_or_default()
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SID: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";
    const SID2: &str = "sess_018e0e5c-6b00-7abc-8def-0123456789ab";
    const VID: &str = "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7";

    fn headers(session_header: Option<&str>, cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(s) = session_header {
            h.insert(&SESSION_HEADER, HeaderValue::from_str(s).unwrap());
        }
        for c in cookies {
            h.append(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    fn session(session_header: Option<&str>, cookie: &str) -> Option<String> {
        pair(&headers(session_header, &[cookie])).session_id
    }

    #[test]
    fn a_valid_header_wins_over_a_valid_cookie() {
        let p = pair(&headers(
            Some(SID),
            &[&format!("ss_sid={SID2}; ss_vid={VID}")],
        ));
        assert_eq!(
            p,
            Pairing {
                session_id: Some(SID.into()),
                visitor_id: Some(VID.into()),
                source: Source::Header,
            }
        );
    }

    #[test]
    fn the_cookie_is_used_when_the_header_is_absent_or_malformed() {
        let cookie = format!("ss_sid={SID2}");
        for h in [None, Some("sess_nope"), Some(""), Some(VID)] {
            let p = pair(&headers(h, &[&cookie]));
            assert_eq!(p.session_id.as_deref(), Some(SID2), "{h:?}");
            assert_eq!(p.source, Source::Cookie, "{h:?}");
        }
    }

    #[test]
    fn a_session_header_sent_twice_is_ambiguous_and_not_used() {
        let mut h = headers(Some(SID), &[&format!("ss_sid={SID2}")]);
        h.append(&SESSION_HEADER, HeaderValue::from_static(SID));
        let p = pair(&h);
        assert_eq!(p.session_id.as_deref(), Some(SID2));
        assert_eq!(p.source, Source::Cookie);
    }

    #[test]
    fn a_session_header_over_16_kib_is_ignored() {
        let long = format!("{SID}{}", " ".repeat(MAX_HEADER_BYTES));
        assert_eq!(session(Some(&long), ""), None);
    }

    #[test]
    fn a_percent_encoded_cookie_value_counts_only_if_decoding_makes_it_an_id() {
        let encoded = SID.replace('-', "%2D").replace('_', "%5F");
        assert_eq!(
            session(None, &format!("ss_sid={encoded}")).as_deref(),
            Some(SID)
        );
        assert_eq!(
            session(None, &format!("ss_sid=\"{encoded}\"")).as_deref(),
            Some(SID)
        );
        let vid = VID.replace('-', "%2d");
        let p = pair(&headers(None, &[&format!("ss_vid={vid}")]));
        assert_eq!(p.visitor_id.as_deref(), Some(VID));
        for bad in [
            format!("{SID}%"),
            format!("{SID}%2"),
            format!("{SID}%zz"),
            format!("{SID}%00"),
            format!("{SID}%0d%0a"),
            format!("%20{SID}"),
            "%27%20OR%201%3D1".to_owned(),
            SID.to_ascii_uppercase().replace('-', "%2D"),
        ] {
            assert_eq!(session(None, &format!("ss_sid={bad}")), None, "{bad}");
        }
        // The header is never percent-decoded.
        assert_eq!(session(Some(&encoded), ""), None);
    }

    #[test]
    fn nothing_valid_gives_no_session_and_source_none() {
        let p = pair(&HeaderMap::new());
        assert_eq!(
            p,
            Pairing {
                session_id: None,
                visitor_id: None,
                source: Source::None,
            }
        );
    }

    #[test]
    fn malformed_session_ids_are_refused_in_the_header_and_the_cookie() {
        let v4 = "sess_7c9e6679-7425-40de-944b-e07fc1f90ae7";
        let upper = SID.to_ascii_uppercase();
        let upper_uuid = format!("sess_{}", SID[5..].to_ascii_uppercase());
        let hostile = [
            v4,
            upper.as_str(),
            upper_uuid.as_str(),
            "SESS_018e0e5c-5a00-7abc-8def-0123456789ab",
            "anon_018e0e5c-5a00-7abc-8def-0123456789ab",
            "018e0e5c-5a00-7abc-8def-0123456789ab",
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab,x",
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab x",
            "sess_018e0e5c-5a00-7abc-8def-0123456789abc",
            "sess_018e0e5c5a007abc8def0123456789ab",
            "sess_{018e0e5c-5a00-7abc-8def-0123456789ab}",
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab<script>",
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab'--",
            "sess_018e0e5c-5a00-7abc-cdef-0123456789ab", // wrong variant
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "sess_",
        ];
        for bad in hostile {
            assert_eq!(session(Some(bad), ""), None, "header {bad:?}");
            assert_eq!(
                session(None, &format!("ss_sid={bad}")),
                None,
                "cookie {bad:?}"
            );
        }
        // Spaces and tabs around the value are not part of it.
        let padded = format!("{SID} \t");
        assert_eq!(session(Some(&padded), "").as_deref(), Some(SID));
        assert_eq!(
            session(None, &format!("ss_sid={padded}")).as_deref(),
            Some(SID)
        );
    }

    #[test]
    fn a_malformed_visitor_cookie_gives_no_visitor() {
        for bad in [
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab",
            "anon_7C9E6679-7425-40DE-944B-E07FC1F90AE7",
            "ANON_7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7=",
            "anon_x",
        ] {
            let p = pair(&headers(None, &[&format!("ss_vid={bad}")]));
            assert_eq!(p.visitor_id, None, "{bad:?}");
        }
    }

    #[test]
    fn only_exact_cookie_names_match() {
        for c in [
            format!("xss_sid={SID}"),
            format!("ss_sid_old={SID}"),
            format!("SS_SID={SID}"),
            format!("ss-sid={SID}"),
            format!("a=ss_sid={SID}"),
            SID.to_owned(),
        ] {
            assert_eq!(session(None, &c), None, "{c}");
        }
        assert_eq!(
            session(None, &format!("xss_sid=junk; ss_sid={SID}")).as_deref(),
            Some(SID)
        );
    }

    #[test]
    fn the_first_cookie_of_a_name_wins_even_when_it_is_invalid() {
        assert_eq!(
            session(None, &format!("ss_sid={SID}; ss_sid={SID2}")).as_deref(),
            Some(SID)
        );
        assert_eq!(session(None, &format!("ss_sid=bad; ss_sid={SID2}")), None);
        // Across split Cookie headers too.
        let p = pair(&headers(
            None,
            &["a=1; ss_sid=bad", &format!("ss_sid={SID2}")],
        ));
        assert_eq!(p.session_id, None);
        let p = pair(&headers(
            None,
            &["a=1", &format!("ss_sid={SID2}; ss_vid={VID}")],
        ));
        assert_eq!(p.session_id.as_deref(), Some(SID2));
        assert_eq!(p.visitor_id.as_deref(), Some(VID));
    }

    #[test]
    fn spaces_quotes_and_empty_pairs_are_tolerated() {
        for c in [
            format!("ss_sid={SID}"),
            format!("  ss_sid = {SID} ;"),
            format!(";;ss_sid=\"{SID}\""),
            format!("other=\"a;b\"; \tss_sid={SID}"),
            format!("flag; =x; ss_sid={SID}"),
        ] {
            assert_eq!(session(None, &c).as_deref(), Some(SID), "{c}");
        }
        // One pair of quotes only, and only when both are there.
        for c in [
            format!("ss_sid=\"\"{SID}\"\""),
            format!("ss_sid=\"{SID}"),
            format!("ss_sid={SID}\""),
        ] {
            assert_eq!(session(None, &c), None, "{c}");
        }
    }

    #[test]
    fn an_injection_attempt_inside_a_cookie_value_is_not_split_into_a_session() {
        // A value that smuggles a second pair is split at `;` like a browser
        // would, so the first `ss_sid` is the hostile one.
        let c = format!("ss_sid=x\"; ss_sid={SID}");
        assert_eq!(session(None, &c), None);
        let c = format!("ss_vid=evil{SID}; ss_sid={SID}%0d%0a");
        assert_eq!(session(None, &c), None);
    }

    #[test]
    fn cookie_headers_over_16_kib_are_ignored() {
        let pad = "p=".to_owned() + &"x".repeat(MAX_HEADER_BYTES);
        assert_eq!(session(None, &format!("ss_sid={SID}; {pad}")), None);
        let p = pair(&headers(
            Some(SID2),
            &[&format!("ss_sid={SID}; ss_vid={VID}; {pad}")],
        ));
        assert_eq!(
            p.session_id.as_deref(),
            Some(SID2),
            "the header still counts"
        );
        assert_eq!(p.visitor_id, None);
        let fits = format!("ss_sid={SID}; p=");
        let fits = fits.clone() + &"x".repeat(MAX_HEADER_BYTES - fits.len());
        assert_eq!(session(None, &fits).as_deref(), Some(SID));
        // The limit is on all Cookie headers joined with "; ".
        let first = format!("ss_sid={SID}");
        let fill = "p=".to_owned() + &"x".repeat(MAX_HEADER_BYTES - first.len() - 4);
        assert_eq!(first.len() + 2 + fill.len(), MAX_HEADER_BYTES);
        let p = pair(&headers(None, &[&first, &fill]));
        assert_eq!(p.session_id.as_deref(), Some(SID));
        let over = fill + "x";
        let p = pair(&headers(None, &[&first, &over]));
        assert_eq!(p.session_id, None);
    }

    #[test]
    fn non_utf8_bytes_elsewhere_in_the_cookie_header_do_not_hide_the_ids() {
        let mut h = HeaderMap::new();
        let raw = [b"name=\xff\xfe; ss_sid=".as_slice(), SID.as_bytes()].concat();
        h.insert(header::COOKIE, HeaderValue::from_bytes(&raw).unwrap());
        assert_eq!(pair(&h).session_id.as_deref(), Some(SID));
    }

    #[test]
    fn cookie_value_splits_at_the_first_equals_sign() {
        assert_eq!(cookie_value(b"a=b=c", "a"), Some(b"b=c".as_slice()));
        assert_eq!(cookie_value(b"a=", "a"), Some(b"".as_slice()));
        assert_eq!(cookie_value(b"a", "a"), None);
        assert_eq!(cookie_value(b"", "a"), None);
    }
}
