//! The session rules (README "Sessions"): when a tab keeps its session id
//! and when it gets a new one.

use alloc::string::String;

use crate::ids;
use crate::json::parse_u64;
use crate::rand::Rng;
use crate::time::Millis;

/// Why a tab got a new session id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Nothing stored: first visit, or a new tab.
    NoneStored,
    /// Something stored, but not in the documented formats.
    Malformed,
    /// Last activity `sessionTimeout` (30 min) or more ago.
    Idle,
    /// Started `maxSessionLength` (24 h) or more ago.
    MaxAge,
    /// `clear()` was called.
    Cleared,
    /// The browser copied this tab's storage from a tab that is still open.
    DuplicateTab,
    /// The collector sealed the session.
    Sealed,
}

/// The two timing rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub timeout: Millis,
    pub max_length: Millis,
}

/// One tab's session; its id is a `String`, or borrowed (`Session<&str>`)
/// from the text it was read from until the tracker takes it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session<Id = String> {
    pub id: Id,
    pub start: Millis,
    pub last_activity: Millis,
}

impl Session {
    /// A new session starting at `now`; its id's UUIDv7 time is `now`.
    pub fn mint(now: Millis, rng: &mut Rng) -> Session {
        Session {
            id: ids::mint_session_id(now, rng),
            start: now,
            last_activity: now,
        }
    }
}

impl<'a> Session<&'a str> {
    /// A session carried over from another domain by a `sessionId` URL
    /// parameter: it started at its UUIDv7 time and is active now.
    pub fn adopt(id: &'a str, now: Millis) -> Option<Session<&'a str>> {
        let start = ids::session_start(id)?;
        Some(Session {
            id,
            start,
            last_activity: now,
        })
    }

    /// Reads the three stored values. The id and last-activity time must be
    /// in their exact formats; a missing or malformed start falls back to the
    /// id's own UUIDv7 time.
    pub fn from_stored(
        id: Option<&'a str>,
        last_activity: Option<&str>,
        start: Option<&str>,
    ) -> Result<Session<&'a str>, Reason> {
        let id = id.ok_or(Reason::NoneStored)?;
        let uuid_start = ids::session_start(id).ok_or(Reason::Malformed)?;
        let last = last_activity.and_then(parse_u64).ok_or(Reason::Malformed)?;
        let start = start.and_then(parse_u64).map_or(uuid_start, Millis);
        Ok(Session {
            id,
            start,
            last_activity: Millis(last),
        })
    }
}

impl<Id> Session<Id> {
    /// Whether the session has ended by `now`. A clock that went backwards
    /// counts as no time passed (the session is kept, not rotated).
    pub fn expiry(&self, now: Millis, rules: Rules) -> Option<Reason> {
        if now.since(self.last_activity) >= rules.timeout {
            Some(Reason::Idle)
        } else if now.since(self.start) >= rules.max_length {
            Some(Reason::MaxAge)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        timeout: Millis(30 * 60_000),
        max_length: Millis(24 * 3_600_000),
    };
    const T0: Millis = Millis(1_709_318_400_000);

    fn fresh() -> Session {
        Session::mint(T0, &mut Rng::new(1, 1))
    }

    #[test]
    fn idle_29_minutes_59_seconds_keeps_the_session() {
        assert_eq!(
            fresh().expiry(T0.plus(Millis(29 * 60_000 + 59_999)), RULES),
            None
        );
    }

    #[test]
    fn idle_exactly_30_minutes_ends_the_session() {
        assert_eq!(
            fresh().expiry(T0.plus(Millis(30 * 60_000)), RULES),
            Some(Reason::Idle)
        );
    }

    #[test]
    fn a_busy_session_ends_at_24_hours_of_age() {
        let mut s = fresh();
        s.last_activity = T0.plus(Millis(24 * 3_600_000 - 1));
        assert_eq!(s.expiry(T0.plus(Millis(24 * 3_600_000 - 1)), RULES), None);
        s.last_activity = T0.plus(Millis(24 * 3_600_000));
        assert_eq!(
            s.expiry(T0.plus(Millis(24 * 3_600_000)), RULES),
            Some(Reason::MaxAge)
        );
    }

    #[test]
    fn a_clock_that_went_backwards_keeps_the_session() {
        assert_eq!(fresh().expiry(Millis(T0.0 - 3_600_000), RULES), None);
    }

    #[test]
    fn stored_values_round_trip() {
        let s = fresh();
        let back = Session::from_stored(Some(&s.id), Some("1709318400000"), Some("1709318400000"));
        assert_eq!(
            back,
            Ok(Session {
                id: s.id.as_str(),
                start: s.start,
                last_activity: s.last_activity,
            })
        );
    }

    #[test]
    fn malformed_stored_values_are_not_a_session() {
        let id = fresh().id;
        assert_eq!(
            Session::from_stored(None, Some("1"), Some("1")),
            Err(Reason::NoneStored)
        );
        assert_eq!(
            Session::from_stored(Some("sess_x"), Some("1"), Some("1")),
            Err(Reason::Malformed)
        );
        for ts in [None, Some(""), Some("abc"), Some("-5"), Some("1.5e12")] {
            assert_eq!(
                Session::from_stored(Some(&id), ts, Some("1")),
                Err(Reason::Malformed),
                "{ts:?}"
            );
        }
    }

    #[test]
    fn a_missing_start_falls_back_to_the_ids_own_time() {
        let id = fresh().id;
        let s = Session::from_stored(Some(&id), Some("1709318400500"), Some("garbage")).unwrap();
        assert_eq!(s.start, T0);
    }

    #[test]
    fn an_adopted_session_started_at_its_uuid_time() {
        let s = Session::adopt("sess_018e0e5c-5a00-7abc-8def-0123456789ab", T0).unwrap();
        assert_eq!(s.start, Millis(0x018e_0e5c_5a00));
        assert_eq!(s.last_activity, T0);
        assert!(Session::adopt("sess_nope", T0).is_none());
    }
}
