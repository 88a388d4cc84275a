//! Session, visitor and event ids: minting and strict parsing.
//!
//! Formats (SPEC "Identifiers"):
//! - session: `sess_` + lowercase hyphenated UUIDv7; its timestamp is the
//!   session start.
//! - visitor: `anon_` + lowercase hyphenated UUID.
//! - event: a bare lowercase hyphenated UUIDv7.
//!
//! Parsing is strict: anything else (upper case, braces, other prefixes,
//! other lengths) is not an id, so a hostile URL parameter or a tampered
//! storage value is never adopted or echoed.

use alloc::borrow::ToOwned;
use alloc::string::String;

use crate::rand::Rng;
use crate::time::Millis;
use uuid::Builder;

pub const SESSION_PREFIX: &str = "sess_";
pub const VISITOR_PREFIX: &str = "anon_";
const UUID_LEN: usize = 36;

/// Writes a UUID as lowercase hyphenated text.
fn uuid_text(u: uuid::Uuid) -> String {
    let mut buf = [0u8; UUID_LEN];
    u.hyphenated().encode_lower(&mut buf).to_owned()
}

/// A fresh UUIDv7 whose timestamp is `now`.
pub fn uuid_v7(now: Millis, rng: &mut Rng) -> String {
    let r = rng.bytes16();
    let tail = r.first_chunk::<10>().copied().unwrap_or_default();
    uuid_text(Builder::from_unix_timestamp_millis(now.0, &tail).into_uuid())
}

pub fn mint_session_id(now: Millis, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(SESSION_PREFIX.len() + UUID_LEN);
    s.push_str(SESSION_PREFIX);
    s.push_str(&uuid_v7(now, rng));
    s
}

pub fn mint_visitor_id(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(VISITOR_PREFIX.len() + UUID_LEN);
    s.push_str(VISITOR_PREFIX);
    s.push_str(&uuid_text(
        Builder::from_random_bytes(rng.bytes16()).into_uuid(),
    ));
    s
}

/// True for a lowercase hyphenated UUID with a valid RFC 9562 variant.
pub fn is_uuid_text(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != UUID_LEN {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        };
        if !ok {
            return false;
        }
    }
    matches!(b.get(19), Some(b'8' | b'9' | b'a' | b'b'))
}

/// True for a UUIDv7 in canonical lowercase text.
pub fn is_uuid_v7_text(s: &str) -> bool {
    is_uuid_text(s) && s.as_bytes().get(14) == Some(&b'7')
}

pub fn is_session_id(s: &str) -> bool {
    s.strip_prefix(SESSION_PREFIX).is_some_and(is_uuid_v7_text)
}

pub fn is_visitor_id(s: &str) -> bool {
    s.strip_prefix(VISITOR_PREFIX).is_some_and(is_uuid_text)
}

/// The start time encoded in a session id (its UUIDv7 timestamp).
pub fn session_start(id: &str) -> Option<Millis> {
    let u = id
        .strip_prefix(SESSION_PREFIX)
        .filter(|u| is_uuid_v7_text(u))?;
    // The first 48 bits are the 12 hex digits before and after the first hyphen.
    let mut ms: u64 = 0;
    for c in u.bytes().filter(|&c| c != b'-').take(12) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        };
        ms = (ms << 4) | u64::from(d);
    }
    Some(Millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_session_ids_parse_and_carry_their_start_time() {
        let mut rng = Rng::new(1, 2);
        let id = mint_session_id(Millis(1_709_318_400_000), &mut rng);
        assert!(id.starts_with("sess_"), "{id}");
        assert!(is_session_id(&id), "{id}");
        assert_eq!(session_start(&id), Some(Millis(1_709_318_400_000)));
    }

    #[test]
    fn minted_visitor_ids_parse() {
        let mut rng = Rng::new(3, 4);
        let id = mint_visitor_id(&mut rng);
        assert!(is_visitor_id(&id), "{id}");
        assert!(!is_session_id(&id));
    }

    #[test]
    fn two_mints_differ() {
        let mut rng = Rng::new(5, 6);
        assert_ne!(
            mint_session_id(Millis(1), &mut rng),
            mint_session_id(Millis(1), &mut rng)
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let good = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";
        assert!(is_session_id(good));
        for bad in [
            "",
            "sess_",
            "SESS_018e0e5c-5a00-7abc-8def-0123456789ab",
            "sess_018E0E5C-5A00-7ABC-8DEF-0123456789AB",
            "sess_018e0e5c-5a00-4abc-8def-0123456789ab", // v4, not v7
            "sess_018e0e5c-5a00-7abc-cdef-0123456789ab", // wrong variant
            "sess_018e0e5c5a007abc8def0123456789ab",
            "sess_{018e0e5c-5a00-7abc-8def-0123456789ab}",
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab ",
            "anon_018e0e5c-5a00-7abc-8def-0123456789ab",
            "sess_018e0e5c-5a00-7abc-8def-0123456789a\"",
            "sess_<script>alert(1)</script>aaaaaaaaaaaaaaa",
        ] {
            assert!(!is_session_id(bad), "{bad}");
        }
        assert!(is_visitor_id("anon_7c9e6679-7425-40de-944b-e07fc1f90ae7"));
        assert!(!is_visitor_id("anon_7c9e6679-7425-40de-944b-e07fc1f90ae"));
        assert!(!is_visitor_id("user_7c9e6679-7425-40de-944b-e07fc1f90ae7"));
    }
}
