//! Values written into ClickHouse SQL text. ClickHouse 18.16 has no query
//! parameters (`{name:Type}` came in 19.x), so every value that comes from a
//! request goes through [`string`], and numbers are formatted from integers.

/// A ClickHouse string literal holding exactly `s`: in single quotes, with
/// `\` and `'` escaped and every control character written as `\xHH`
/// (ClickHouse reads these escapes in every version).
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s);
    out
}

/// Appends [`string`]`(s)` to `out`.
pub fn push_string(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_ascii_control() => {
                let b = u32::from(c);
                out.push_str("\\x");
                out.push(hex_digit(b >> 4));
                out.push(hex_digit(b & 0xf));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// `(a, b, c)`: string literals for an `IN` list; `('')` when empty, so the
/// SQL stays valid and matches nothing we store (every stored id is non-empty).
pub fn string_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("(");
    let mut first = true;
    for s in items {
        if !first {
            out.push_str(", ");
        }
        first = false;
        push_string(&mut out, s);
    }
    if first {
        out.push_str("''");
    }
    out.push(')');
    out
}

fn hex_digit(v: u32) -> char {
    char::from_digit(v, 16).unwrap_or('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(string("it's"), r"'it\'s'");
        assert_eq!(string(r"a\b"), r"'a\\b'");
        assert_eq!(string(r"\'"), r"'\\\''");
        assert_eq!(
            string("'; DROP TABLE events; --"),
            r"'\'; DROP TABLE events; --'"
        );
    }

    #[test]
    fn control_characters_are_hex_escapes_and_the_rest_is_kept() {
        assert_eq!(string("a\u{0}\n\u{7f}"), r"'a\x00\x0a\x7f'");
        assert_eq!(string("é✓"), "'é✓'");
        assert_eq!(string(""), "''");
    }

    #[test]
    fn lists_are_comma_separated_and_an_empty_one_matches_nothing() {
        assert_eq!(string_list(["a", "b'"]), r"('a', 'b\'')");
        assert_eq!(string_list(std::iter::empty()), "('')");
    }
}
