//! What the answers of the outside world do: the collector's answer to a
//! batch (README "Wire protocol": sealed sessions, rejected events), and
//! whether the browser took a beacon.

use super::Tracker;
use crate::delivery::Outcome;
use crate::ids;
use crate::session::Reason;
use crate::text::{cut, find, pieces};
use crate::time::Millis;

impl Tracker {
    /// The answer to request `id`: HTTP status (0: network error, or a
    /// refused beacon whose fetch failed) and the answer's body. Delivered
    /// events leave the outbox; failed ones are kept there and retried; a
    /// body of several events refused with 400 or 413 goes again in two
    /// halves (README "Delivery"); other refused ones are dropped with a
    /// warning. A sealed session of this tab rotates (old `page_exit`, new
    /// `screen_view`, `ss_sid`).
    pub fn handle_sent(&mut self, now: Millis, id: u32, status: u16, answer: &str) {
        self.handle_sent_and(now, id, status, answer, |_| ());
    }

    /// [`Tracker::handle_sent`], showing `look` what the answer did to the
    /// request's events before the tracker keeps them for the outbox (the
    /// tests see the [`Outcome`] so; the shell needs nothing of it, and
    /// the wasm keeps no copy of it: 160 B brotli, README "Size").
    pub fn handle_sent_and<R>(
        &mut self,
        now: Millis,
        id: u32,
        status: u16,
        answer: &str,
        look: impl FnOnce(&Outcome) -> R,
    ) -> R {
        if !self.is_running() {
            return look(&Outcome::Unknown);
        }
        let outcome = self.delivery.on_result(id, status, now, &mut self.rng);
        let seen = look(&outcome);
        match outcome {
            Outcome::Delivered(ids) => {
                self.outbox_remove(ids);
                if sealed_ids(answer).any(|s| s == self.session.id) {
                    self.rotate_with_page_open(now, Reason::Sealed);
                }
                // `"rejected":[{"index":..` names events the collector found
                // invalid: they are not retried (they would fail again).
                if has_rejected(answer) {
                    self.warn("the collector rejected events; dropped");
                }
            }
            Outcome::Retrying(events) => self.outbox_add(events),
            Outcome::Refused { outboxed, .. } => {
                self.outbox_remove(outboxed);
                self.warn("the collector refused a batch; dropped");
            }
            Outcome::Split | Outcome::Unknown => {}
        }
        seen
    }

    /// Whether the browser took beacon `id` (`navigator.sendBeacon`'s
    /// answer). Taken: its fate is unknown, its events stay in the outbox
    /// until a later page load resends them (the collector drops repeats).
    /// Refused: the same body goes as a keepalive fetch.
    pub fn handle_beacon(&mut self, _now: Millis, id: u32, taken: bool) {
        if !self.is_running() {
            return;
        }
        if taken {
            self.delivery.beacon_queued(id);
        } else {
            self.delivery.beacon_refused(id);
        }
    }
}

/// The session ids listed in a batch answer's `"sealed":[...]`. Only exact
/// session ids count; anything else in the answer is ignored.
pub fn sealed_ids(answer: &str) -> impl Iterator<Item = &str> {
    const KEY: &[u8] = b"\"sealed\"";
    let list = find(answer, KEY)
        .and_then(|i| answer.get(i + KEY.len()..))
        .and_then(|rest| cut(rest, b'['))
        .and_then(|(_, rest)| cut(rest, b']'))
        .map_or("", |(inside, _)| inside);
    pieces(list, b'"').filter(|s| ids::is_session_id(s))
}

/// Whether a batch answer lists events the collector rejected
/// (`"rejected":[{"index":..`).
pub fn has_rejected(answer: &str) -> bool {
    find(answer, b"\"index\"").is_some()
}

#[cfg(test)]
mod tests {
    use super::{has_rejected, sealed_ids};

    const SID: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";

    #[test]
    fn a_batch_answer_is_read_for_sealed_sessions_and_rejected_events() {
        let clean = format!(
            r#"{{"accepted":2,"duplicates":0,"rejected":[],"sealed":["{SID}","sess_bad"]}}"#
        );
        assert_eq!(sealed_ids(&clean).collect::<Vec<_>>(), [SID]);
        assert!(!has_rejected(&clean));
        let bad =
            r#"{"accepted":1,"duplicates":0,"rejected":[{"index":1,"reason":"x"}],"sealed":[]}"#;
        assert!(has_rejected(bad));
        assert_eq!(sealed_ids(bad).count(), 0);
        assert_eq!(sealed_ids("not json").count(), 0);
    }
}
