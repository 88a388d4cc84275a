//! Milliseconds since the Unix epoch, as handed in by the shell.
//!
//! The core never reads a clock: every rule takes `now` as an argument, so a
//! test moves time by passing a bigger number.

/// A point in time or a span, in whole milliseconds. Arithmetic saturates:
/// a clock that goes backwards yields a zero span, never an overflow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const SECOND: Millis = Millis(1_000);
    pub const MINUTE: Millis = Millis(60_000);
    pub const HOUR: Millis = Millis(3_600_000);

    /// The span from `earlier` to `self`; zero when `earlier` is later.
    pub fn since(self, earlier: Millis) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }

    pub fn plus(self, span: Millis) -> Millis {
        Millis(self.0.saturating_add(span.0))
    }

    /// Converts a JS number (`Date.now()`), clamping NaN and negatives to 0.
    pub fn from_f64(ms: f64) -> Millis {
        // A float cast saturates: NaN and negatives are 0.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Millis((ms as u64).min(9_000_000_000_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_a_later_time_is_zero_not_an_underflow() {
        assert_eq!(Millis(5).since(Millis(9)), Millis(0));
        assert_eq!(Millis(9).since(Millis(5)), Millis(4));
    }

    #[test]
    fn js_numbers_that_are_not_times_become_zero() {
        assert_eq!(Millis::from_f64(f64::NAN), Millis(0));
        assert_eq!(Millis::from_f64(-3.0), Millis(0));
        assert_eq!(
            Millis::from_f64(1_709_318_400_000.7),
            Millis(1_709_318_400_000)
        );
    }
}
