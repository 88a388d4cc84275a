//! Byte scans over text for ASCII separators and keys. `str::split(char)`,
//! `split_once(char)` and `str::find(&str)` bring the char and substring
//! searchers (memchr, UTF-8 decoding): measured, these few helpers in their
//! place take about 1 KB off the wasm. Cutting at an ASCII byte always lands
//! on a char boundary, so the `get`s below never fail on valid text.

/// `s` split at its first `sep` byte (ASCII), the separator dropped.
pub fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    // A plain loop: `bytes().position()` compiles to three times the code.
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b.get(i) == Some(&sep) {
            return Some((s.get(..i)?, s.get(i + 1..)?));
        }
        i += 1;
    }
    None
}

/// The pieces of `s` between `sep` bytes (ASCII), as `str::split` gives
/// them: an empty `s` is one empty piece.
pub fn pieces(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let r = rest?;
        match cut(r, sep) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Appends `s` lowercased, for text already checked to be ASCII (what
/// `str::to_ascii_lowercase` does without its own allocation).
pub fn push_lowercase(out: &mut alloc::string::String, s: &str) {
    for b in s.bytes() {
        out.push(char::from(b.to_ascii_lowercase()));
    }
}

/// Makes `to` hold `from`, in its own buffer (no new string, no drop of
/// the old one: less code at each of a dozen places, README "Size").
// Not inlined: one copy of the code for every place.
#[inline(never)]
pub fn assign(to: &mut alloc::string::String, from: &str) {
    to.clear();
    to.push_str(from);
}

/// Where `key` first stands in `text`.
pub fn find(text: &str, key: &[u8]) -> Option<usize> {
    let b = text.as_bytes();
    (0..b.len()).find(|&i| b.get(i..i + key.len()) == Some(key))
}

#[cfg(test)]
mod tests {
    use super::{cut, find, pieces};
    use alloc::vec::Vec;

    #[test]
    fn pieces_and_cuts_match_the_std_splits() {
        for s in ["", "a", "a&b", "&a&&b&", "é=ü&x", "=", "a=b=c"] {
            assert_eq!(
                pieces(s, b'&').collect::<Vec<_>>(),
                s.split('&').collect::<Vec<_>>()
            );
            assert_eq!(cut(s, b'='), s.split_once('='));
        }
        assert_eq!(find("ab\"index\"", b"\"index\""), Some(2));
        assert_eq!(find("ab", b"abc"), None);
    }
}
