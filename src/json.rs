//! The few JSON writing primitives the tracker needs, by hand.
//!
//! Measured (README "Size"): hand-written JSON keeps the wasm several KB smaller
//! than serde_json, and the tracker only ever writes flat objects of strings
//! and integers plus one pre-serialized properties object.

use alloc::string::String;

/// Appends `s` as a JSON string literal, quotes included. Control
/// characters take JSON's one escape for all of them, `\u00XX`: fewer
/// branches than the short forms (`\n`, ...), read back the same.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        let v = u32::from(c);
        if c == '"' || c == '\\' {
            out.push('\\');
            out.push(c);
        } else if v < 0x20 {
            out.push_str(if v < 0x10 { "\\u000" } else { "\\u001" });
            out.push(char::from_digit(v & 0xf, 16).unwrap_or('0'));
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

/// Appends an unsigned integer in decimal, without `core::fmt`.
pub fn push_u64(out: &mut String, v: u64) {
    // The leading digits first: at most 20 levels deep.
    if v >= 10 {
        push_u64(out, v / 10);
    }
    #[allow(clippy::cast_possible_truncation)]
    out.push(char::from(b'0' + (v % 10) as u8));
}

/// The decimal text of `v`.
pub fn u64_text(v: u64) -> String {
    let mut s = String::new();
    push_u64(&mut s, v);
    s
}

/// Parses a decimal string of digits only (no sign, no spaces, at most 16
/// digits), as stored timestamps and counters are written.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_a_real_json_parser() {
        for s in [
            "",
            "plain",
            "quote \" back \\ slash",
            "ctl \u{1}\u{1f}\n\r\t",
            "ünï 😀 \u{2028}",
        ] {
            let mut out = String::new();
            push_str(&mut out, s);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn integers_print_like_display() {
        for v in [0u64, 7, 10, 1_709_318_400_000, u64::MAX] {
            assert_eq!(u64_text(v), v.to_string());
        }
    }

    #[test]
    fn only_plain_digits_parse() {
        assert_eq!(parse_u64("1709318400000"), Some(1_709_318_400_000));
        for bad in ["", "-1", " 1", "1e3", "12a", "99999999999999999"] {
            assert_eq!(parse_u64(bad), None, "{bad}");
        }
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
