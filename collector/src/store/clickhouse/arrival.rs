//! The listing order of arrivals (`arrival` column): events are listed by
//! timestamp, then by arrival, as SQLite lists them by timestamp then rowid.

/// Hands out arrival numbers: strictly increasing within one collector
/// (even when the server clock stands still or steps back, as a test's
/// manual clock does), and close to the server clock in microseconds, so
/// the arrivals of several collectors on one ClickHouse interleave by time.
#[derive(Debug, Default)]
pub struct Arrivals {
    last: u64,
}

impl Arrivals {
    /// The arrival of the next event of a batch received at `received_at_ms`.
    pub fn next(&mut self, received_at_ms: u64) -> u64 {
        let clock = received_at_ms.saturating_mul(1000);
        self.last = clock.max(self.last.saturating_add(1));
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_increase_even_when_the_clock_stands_still_or_steps_back() {
        let mut a = Arrivals::default();
        let first = a.next(1_000);
        assert_eq!(first, 1_000_000);
        assert_eq!(a.next(1_000), 1_000_001);
        assert_eq!(a.next(999), 1_000_002);
        assert_eq!(a.next(2_000), 2_000_000, "a later clock moves it on");
    }
}
