//! Fault injection for end-to-end tests (`SESSIONMARK_TEST_HOOKS=1` only):
//! make the next N batch requests fail with a chosen status, so tests can
//! prove the tracker retries and keeps what it could not deliver.

use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub struct Faults {
    // (status to answer, requests left to fail)
    state: Mutex<(u16, u64)>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, (u16, u64)> {
        // Two plain integers cannot be left half-written: a poisoned lock is fine to reuse.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `count` batch requests answer `status`; a count of 0 resets.
    pub fn arm(&self, status: u16, count: u64) {
        *self.lock() = (status, count);
    }

    /// The status to fail this request with, if one is armed; uses one up.
    pub fn take(&self) -> Option<u16> {
        let mut s = self.lock();
        if s.1 == 0 {
            return None;
        }
        s.1 -= 1;
        Some(s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_fault_fires_exactly_count_times() {
        let f = Faults::default();
        assert_eq!(f.take(), None);
        f.arm(503, 2);
        assert_eq!(f.take(), Some(503));
        assert_eq!(f.take(), Some(503));
        assert_eq!(f.take(), None);
    }

    #[test]
    fn a_count_of_zero_disarms() {
        let f = Faults::default();
        f.arm(500, 5);
        f.arm(500, 0);
        assert_eq!(f.take(), None);
    }
}
