//! The first-party cookies for the site's backend: `ss_vid` (visitor, one
//! year, refreshed on each load) and `ss_sid` (the session of the tab the
//! user is using: the last tab to gain focus or become visible writes it).

use crate::json::push_u64;
use alloc::string::String;

pub const SESSION_COOKIE: &str = "ss_sid";
pub const VISITOR_COOKIE: &str = "ss_vid";
/// One year, in seconds.
pub const VISITOR_MAX_AGE: u64 = 365 * 24 * 3600;

/// How cookies are written on this page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CookieRule<'a> {
    /// `Secure` (the page is https).
    pub secure: bool,
    /// `Domain=`, when the `cookieDomain` option was valid for this host
    /// (empty: a host-only cookie).
    pub domain: &'a str,
}

impl CookieRule<'_> {
    /// A `document.cookie` assignment: `Path=/; SameSite=Lax`, `Secure` on
    /// https, the domain if any, and `Max-Age` when given (else a
    /// browser-session cookie). Ids contain no characters that need quoting.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut c = String::with_capacity(96);
        c.push_str(name);
        c.push('=');
        c.push_str(value);
        c.push_str("; Path=/; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str("; Max-Age=");
            push_u64(&mut c, age);
        }
        if !self.domain.is_empty() {
            c.push_str("; Domain=");
            c.push_str(self.domain);
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }
}

/// The `cookieDomain` to use on `host`: the host's own tail that the
/// option names (the host itself or a parent domain of it), or None when it
/// names neither (a browser would reject such a cookie). A leading dot is
/// dropped; case is ignored; a single-label parent (`com`) is refused.
pub fn checked_domain<'h>(domain: &str, host: &'h str) -> Option<&'h str> {
    // Byte loops: `trim_start_matches` and `contains('.')` bring the char
    // searchers and memchr (about 500 B of wasm; README "Size").
    let mut d = domain.trim_ascii();
    while let Some(rest) = d.strip_prefix('.') {
        d = rest;
    }
    let mut dots = 0;
    for &b in d.as_bytes() {
        if b == b'.' {
            dots += 1;
        } else if !(b.is_ascii_alphanumeric() || b == b'-') {
            return None;
        }
    }
    // The host itself, or a parent domain of it (`.` + `d` ends the host)
    // that has a dot of its own; the tail of the host compared, not
    // copied (README "Size").
    let at = host.len().checked_sub(d.len())?;
    let tail = host.get(at..)?;
    let parent = dots > 0 && host.as_bytes().get(at.wrapping_sub(1)) == Some(&b'.');
    (!d.is_empty() && (at == 0 || parent) && tail.eq_ignore_ascii_case(d)).then_some(tail)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_the_documented_attributes() {
        let plain = CookieRule::default();
        assert_eq!(
            plain.cookie("ss_sid", "sess_x", None),
            "ss_sid=sess_x; Path=/; SameSite=Lax"
        );
        let https = CookieRule {
            secure: true,
            domain: "example.com",
        };
        assert_eq!(
            https.cookie("ss_vid", "anon_y", Some(VISITOR_MAX_AGE)),
            "ss_vid=anon_y; Path=/; SameSite=Lax; Max-Age=31536000; Domain=example.com; Secure"
        );
    }

    #[test]
    fn a_cookie_domain_must_be_the_host_or_a_parent_of_it() {
        assert_eq!(
            checked_domain("example.com", "www.example.com"),
            Some("example.com")
        );
        assert_eq!(
            checked_domain(".Example.com", "app.example.com"),
            Some("example.com")
        );
        assert_eq!(checked_domain("localhost", "localhost"), Some("localhost"));
        for (d, h) in [
            ("other.com", "www.example.com"),
            ("ample.com", "www.example.com"),
            ("com", "www.example.com"),
            ("www.example.com", "example.com"),
            ("example.com; Secure", "www.example.com"),
            ("", "example.com"),
        ] {
            assert_eq!(checked_domain(d, h), None, "{d} on {h}");
        }
    }
}
