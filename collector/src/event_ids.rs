//! Fresh event ids for events the collector records itself (server events):
//! UUIDv7 of the server time, minted by `sessionmark::ids` from a generator
//! seeded once per process with the OS-random keys of std's `RandomState`.
//!
//! Ids only need to be unique (the store drops a repeated `event_id`), not
//! secret: 74 random bits per millisecond from a per-process random stream.

use sessionmark::ids::uuid_v7;
use sessionmark::rand::Rng;
use sessionmark::time::Millis;
use std::hash::BuildHasher;
use std::sync::Mutex;

#[derive(Debug)]
pub struct EventIds(Mutex<Rng>);

impl EventIds {
    /// A generator seeded from the OS (through `RandomState`) and the clock.
    pub fn from_os() -> EventIds {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let a = std::collections::hash_map::RandomState::new().hash_one(nanos);
        let b = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
        EventIds::seeded(a, b)
    }

    /// A reproducible generator, for tests.
    pub fn seeded(a: u64, b: u64) -> EventIds {
        EventIds(Mutex::new(Rng::new(a, b)))
    }

    /// A new UUIDv7 whose timestamp is `now_ms`.
    pub fn next(&self, now_ms: u64) -> String {
        // The generator holds two integers: a poisoned lock is fine to reuse.
        let mut rng = self.0.lock().unwrap_or_else(|p| p.into_inner());
        uuid_v7(Millis(now_ms), &mut rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionmark::ids::is_uuid_v7_text;

    #[test]
    fn ids_are_distinct_uuid_v7_of_the_given_time() {
        let ids = EventIds::from_os();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = ids.next(1_709_318_400_123);
            assert!(is_uuid_v7_text(&id), "{id}");
            assert!(id.starts_with("018dfb50-e87b-7"), "{id}");
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn two_generators_from_the_os_give_different_ids() {
        let (a, b) = (EventIds::from_os(), EventIds::from_os());
        assert_ne!(a.next(1), b.next(1));
    }
}
