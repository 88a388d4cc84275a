//! The server clock, injectable so tests can move time instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Milliseconds since the epoch, as the collector sees them.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock (0 if it is before 1970).
    #[default]
    System,
    /// A clock that only moves when its holder stores a new time in it.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A manual clock showing `ms`, and the handle that sets it.
    pub fn manual(ms: u64) -> (Clock, Arc<AtomicU64>) {
        let handle = Arc::new(AtomicU64::new(ms));
        (Clock::Manual(Arc::clone(&handle)), handle)
    }

    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_after_2024() {
        assert!(Clock::System.now_ms() > 1_704_067_200_000);
    }

    #[test]
    fn a_manual_clock_shows_what_its_handle_stores() {
        let (clock, handle) = Clock::manual(5);
        assert_eq!(clock.now_ms(), 5);
        handle.fetch_add(10, Ordering::SeqCst);
        assert_eq!(clock.now_ms(), 15);
        assert_eq!(clock.clone().now_ms(), 15);
    }
}
