//! Session, visitor and event ids: minting and strict parsing.
//!
//! Formats (README "Sessions"):
//! - session: `sess_` + lowercase hyphenated UUIDv7; its timestamp is the
//!   session start.
//! - visitor: `anon_` + lowercase hyphenated UUID.
//! - event: a bare lowercase hyphenated UUIDv7.
//!
//! Parsing is strict: anything else (upper case, braces, other prefixes,
//! other lengths) is not an id, so a hostile URL parameter or a tampered
//! storage value is never adopted or echoed.

use alloc::string::String;

use crate::rand::Rng;
use crate::text::assign;
use crate::time::Millis;

pub const SESSION_PREFIX: &str = "sess_";
pub const VISITOR_PREFIX: &str = "anon_";
const UUID_LEN: usize = 36;

/// Appends a UUID (its 128 bits, most significant first) as lowercase
/// hyphenated text (8-4-4-4-12 hex digits). By hand: the `uuid` crate's
/// formatting cost more wasm than this loop.
fn push_uuid(out: &mut String, mut bits: u128) {
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        // The top nibble, then the next one up: shifts by constants only.
        #[allow(clippy::cast_possible_truncation)]
        let nibble = (bits >> 124) as u8;
        bits <<= 4;
        // Arithmetic, not a table: no bounds check to fail.
        out.push(char::from(if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' - 10 + nibble
        }));
    }
}

/// 128 random bits with the RFC 9562 version nibble set to `version` and
/// the variant bits to `10`.
fn versioned(rng: &mut Rng, version: u128) -> u128 {
    // Little-endian: the generator's two words as they are, no byte swap.
    let bits = u128::from_le_bytes(rng.bytes16());
    (bits & !(0xf << 76) & !(0x3 << 62)) | (version << 76) | (1 << 63)
}

/// The bits of a UUIDv7 at `now`: 48 bits of milliseconds, then random.
fn v7(now: Millis, rng: &mut Rng) -> u128 {
    let ms = u128::from(now.0 & 0xffff_ffff_ffff);
    (versioned(rng, 7) & ((1 << 80) - 1)) | (ms << 80)
}

/// A fresh UUIDv7 whose timestamp is `now`.
pub fn uuid_v7(now: Millis, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(UUID_LEN);
    push_uuid(&mut s, v7(now, rng));
    s
}

pub fn mint_session_id(now: Millis, rng: &mut Rng) -> String {
    let mut s = String::new();
    write_session_id(&mut s, now, rng);
    s
}

pub fn mint_visitor_id(rng: &mut Rng) -> String {
    let mut s = String::new();
    write_visitor_id(&mut s, rng);
    s
}

/// Makes `out` a fresh session id starting at `now`, in its own buffer
/// (the tracker's id refilled: no new string).
pub fn write_session_id(out: &mut String, now: Millis, rng: &mut Rng) {
    assign(out, SESSION_PREFIX);
    push_uuid(out, v7(now, rng));
}

/// Makes `out` a fresh visitor id, in its own buffer.
pub fn write_visitor_id(out: &mut String, rng: &mut Rng) {
    assign(out, VISITOR_PREFIX);
    push_uuid(out, versioned(rng, 4));
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
    uuid_v7_time(id.strip_prefix(SESSION_PREFIX)?)
}

/// The time of a UUIDv7 (its first 48 bits, ms since the epoch); None for
/// any other text.
pub fn uuid_v7_time(u: &str) -> Option<Millis> {
    if !is_uuid_v7_text(u) {
        return None;
    }
    // The first 48 bits are the 12 hex digits around the first hyphen.
    let mut ms: u64 = 0;
    for &c in u.as_bytes().iter().take(13) {
        if c != b'-' {
            let d = if c <= b'9' { c - b'0' } else { c - b'a' + 10 };
            ms = (ms << 4) | u64::from(d);
        }
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
