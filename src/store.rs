//! What the tracker keeps in the browser's storage (README "What is stored
//! where"). The core never touches storage: it asks the shell to read keys
//! ([`crate::command::Command::Read`]) and to set or remove them; the shell
//! ignores failures (private mode, quota, disabled storage), so the tracker
//! keeps working in memory.

use crate::text::cut;

/// One storage area of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Local,
    Session,
}

impl Area {
    /// The name the shim knows the area by.
    pub fn name(self) -> &'static str {
        match self {
            Area::Local => "local",
            Area::Session => "session",
        }
    }
}

/// Every key the tracker stores, in the order the shell answers a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// sessionStorage `did_session`: the session id.
    Session,
    /// sessionStorage `did_session_timestamp`: last activity, ms since
    /// epoch, decimal.
    SessionTimestamp,
    /// sessionStorage `did_session_start`: session start, ms, decimal.
    SessionStart,
    /// sessionStorage `did_page_count`: pages viewed in this session.
    PageCount,
    /// sessionStorage `did_tab`: the random token of the page of this tab
    /// that is open; removed on pagehide. Found at start-up, it means the
    /// browser copied the storage of a tab that is still open (a duplicate).
    Tab,
    /// localStorage `did`: the visitor id.
    Visitor,
    /// localStorage `did_user`: the user id given to `identify()`.
    User,
    /// localStorage `did_outbox`: events not yet acknowledged, one JSON
    /// object per line. Last, as it may hold line breaks.
    Outbox,
}

impl Key {
    pub const ALL: [Key; 8] = [
        Key::Session,
        Key::SessionTimestamp,
        Key::SessionStart,
        Key::PageCount,
        Key::Tab,
        Key::Visitor,
        Key::User,
        Key::Outbox,
    ];

    /// The sessionStorage keys (what `clear()` and withdrawn consent remove).
    pub const SESSION_KEYS: [Key; 5] = [
        Key::Session,
        Key::SessionTimestamp,
        Key::SessionStart,
        Key::PageCount,
        Key::Tab,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Key::Session => "did_session",
            Key::SessionTimestamp => "did_session_timestamp",
            Key::SessionStart => "did_session_start",
            Key::PageCount => "did_page_count",
            Key::Tab => "did_tab",
            Key::Visitor => "did",
            Key::User => "did_user",
            Key::Outbox => crate::outbox::STORAGE_KEY,
        }
    }

    pub fn area(self) -> Area {
        match self {
            Key::Visitor | Key::User | Key::Outbox => Area::Local,
            _ => Area::Session,
        }
    }

    /// This key's bit in a [`Keys`] set.
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of keys to read, answered in [`Key::ALL`] order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keys(u8);

impl Keys {
    pub const NONE: Keys = Keys(0);
    /// What a page starts from: every key.
    pub const START: Keys = Keys(0xff);
    /// What a restored page takes up: the session keys, the visitor and
    /// the user.
    pub const RESTORE: Keys = Keys(0x6f);

    pub fn one(key: Key) -> Keys {
        Keys(key.bit())
    }

    pub fn with(self, other: Keys) -> Keys {
        Keys(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every key of `other` is in the set.
    pub fn covers(self, other: Keys) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn contains(self, key: Key) -> bool {
        self.0 & key.bit() != 0
    }

    /// The keys of the set, in answer order.
    pub fn iter(self) -> impl Iterator<Item = Key> {
        Key::ALL.into_iter().filter(move |k| self.contains(*k))
    }
}

/// The stored values the shell read (None: absent, empty or unreadable),
/// borrowed from its answer (no copy of each value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot<'a> {
    pub session: Option<&'a str>,
    pub session_timestamp: Option<&'a str>,
    pub session_start: Option<&'a str>,
    pub page_count: Option<&'a str>,
    pub tab_alive: Option<&'a str>,
    pub visitor: Option<&'a str>,
    pub user: Option<&'a str>,
    pub outbox: Option<&'a str>,
}

impl<'a> Snapshot<'a> {
    /// The values of `keys` as the shell answers a read: one per key, in
    /// order, separated by `'\n'`; the last one takes the rest (the outbox
    /// has line breaks). An empty value is an absent one.
    pub fn from_answer(keys: Keys, answer: &'a str) -> Snapshot<'a> {
        let mut snap = Snapshot::default();
        let mut rest = answer;
        let mut left = keys.0.count_ones();
        for &key in &Key::ALL {
            if !keys.contains(key) {
                continue;
            }
            left -= 1;
            let value = match cut(rest, b'\n') {
                Some((value, after)) if left > 0 => {
                    rest = after;
                    value
                }
                // The last key takes the rest; a short answer leaves the
                // keys after it absent.
                _ => core::mem::take(&mut rest),
            };
            let slot = match key {
                Key::Session => &mut snap.session,
                Key::SessionTimestamp => &mut snap.session_timestamp,
                Key::SessionStart => &mut snap.session_start,
                Key::PageCount => &mut snap.page_count,
                Key::Tab => &mut snap.tab_alive,
                Key::Visitor => &mut snap.visitor,
                Key::User => &mut snap.user,
                Key::Outbox => &mut snap.outbox,
            };
            *slot = (!value.is_empty()).then_some(value);
        }
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_in_key_order_and_the_outbox_keeps_its_lines() {
        let keys = Keys::one(Key::Tab).with(Keys::one(Key::Outbox));
        let s = Snapshot::from_answer(keys, "tok\nline1\nline2\n");
        assert_eq!(s.tab_alive, Some("tok"));
        assert_eq!(s.outbox, Some("line1\nline2\n"));
        assert_eq!(s.session, None);
        let all = Snapshot::from_answer(Keys::START, "\n\n\n\n\nanon_x\nu1\n");
        assert_eq!(all.visitor, Some("anon_x"));
        assert_eq!(all.user, Some("u1"));
        assert_eq!((all.session, all.outbox), (None, None), "empty is absent");
        assert_eq!(Keys::START.iter().count(), 8);
        assert_eq!(
            Keys::RESTORE.iter().collect::<alloc::vec::Vec<_>>(),
            [
                Key::Session,
                Key::SessionTimestamp,
                Key::SessionStart,
                Key::PageCount,
                Key::Visitor,
                Key::User
            ]
        );
    }
}
