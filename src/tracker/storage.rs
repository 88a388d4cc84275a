//! The storage reads the core waits for, and the outbox they keep in sync
//! (README "Delivery"). The core asks for keys with one
//! [`Command::Read`]; what waited for them goes on in
//! [`Tracker::handle_stored`]: the start, a back/forward-cache restore,
//! the `did_tab` check of `pagehide`, and the outbox changes (another tab
//! may have written the outbox since, so each change merges into what is
//! stored now).

use alloc::string::String;
use alloc::vec::Vec;

use super::Tracker;
use crate::batch::Queued;
use crate::command::Command;
use crate::outbox;
use crate::store::{Key, Keys, Snapshot};
use crate::time::Millis;

/// A change to make to the stored outbox.
enum OutboxChange {
    /// Keep these events (they could be lost with the page).
    Add(Vec<Queued>),
    /// These were settled (acknowledged or refused for good).
    Remove(Vec<String>),
}

/// What waits for storage.
pub(super) struct Reads {
    /// Keys needed and not asked for yet.
    wanted: Keys,
    /// The keys of the read asked for and not answered yet.
    asked: Option<Keys>,
    /// The start waits for every key.
    pub(super) starting: bool,
    /// A restore waits for the session keys; the scroll depth measured
    /// with it.
    pub(super) restoring: Option<Option<u64>>,
    /// `pagehide` waits for `did_tab`.
    pub(super) tab_check: bool,
    outbox: Vec<OutboxChange>,
}

impl Reads {
    pub(super) const NEW: Reads = Reads {
        wanted: Keys::NONE,
        asked: None,
        starting: false,
        restoring: None,
        tab_check: false,
        outbox: Vec::new(),
    };

    pub(super) fn need(&mut self, keys: Keys) {
        self.wanted = self.wanted.with(keys);
    }

    /// The read to ask for now, if anything waits and no read is
    /// outstanding.
    pub(super) fn ask(&mut self) -> Option<Keys> {
        if self.asked.is_some() || self.wanted.is_empty() {
            return None;
        }
        let keys = core::mem::take(&mut self.wanted);
        self.asked = Some(keys);
        Some(keys)
    }
}

impl Tracker {
    /// The values the shell read for the last [`Command::Read`], one per
    /// key asked, in order, separated by `'\n'` (the outbox, last, keeps
    /// its line breaks); an empty value is an absent one.
    pub fn handle_stored(&mut self, now: Millis, values: &str) {
        let Some(keys) = self.reads.asked.take() else {
            return;
        };
        let snap = Snapshot::from_answer(keys, values);
        if keys.covers(Keys::START) && core::mem::take(&mut self.reads.starting) {
            self.start(now, &snap);
        }
        if !self.is_running() {
            return;
        }
        if keys.covers(Keys::RESTORE) {
            if let Some(depth) = self.reads.restoring.take() {
                self.restore_from(now, &snap, depth);
            }
        }
        let tab_check = keys.contains(Key::Tab) && core::mem::take(&mut self.reads.tab_check);
        if tab_check && snap.tab_alive == Some(self.page_token.as_str()) {
            self.push(Command::Remove(Key::Tab));
        }
        if keys.contains(Key::Outbox) {
            let changes = core::mem::take(&mut self.reads.outbox);
            if !changes.is_empty() {
                self.change_outbox(snap.outbox.unwrap_or_default(), &changes);
            }
        }
    }

    /// Events to keep in the outbox until acknowledged.
    pub(super) fn outbox_add(&mut self, events: Vec<Queued>) {
        if !events.is_empty() {
            self.reads.outbox.push(OutboxChange::Add(events));
            self.reads.need(Keys::one(Key::Outbox));
        }
    }

    /// Events to take out of the outbox.
    pub(super) fn outbox_remove(&mut self, ids: Vec<String>) {
        if !ids.is_empty() {
            self.reads.outbox.push(OutboxChange::Remove(ids));
            self.reads.need(Keys::one(Key::Outbox));
        }
    }

    /// The page is hidden (maybe for good): everything goes by beacon, and
    /// everything unacknowledged is kept in the outbox.
    pub(super) fn hide_delivery(&mut self) {
        let unacked = self.delivery.hide();
        self.outbox_add(unacked);
    }

    fn change_outbox(&mut self, stored: &str, changes: &[OutboxChange]) {
        let mut text = String::from(stored);
        let mut dropped = 0usize;
        // By reference: a consuming loop is code of its own (README "Size").
        for change in changes {
            match change {
                OutboxChange::Add(events) => {
                    let (merged, n) = outbox::merge(&text, events);
                    text = merged;
                    dropped = dropped.saturating_add(n);
                }
                OutboxChange::Remove(ids) => {
                    text = outbox::remove(&text, ids);
                }
            }
        }
        if dropped > 0 {
            self.warn("outbox full; oldest events dropped");
        }
        if text == stored {
            return;
        }
        if text.is_empty() {
            self.push(Command::Remove(Key::Outbox));
        } else {
            self.push(Command::Set(Key::Outbox, text));
        }
    }
}
