//! What the tracker keeps in the browser's storage, and the writes it asks
//! the shell to make. The core never touches storage: it reads a
//! [`Snapshot`] once at start-up and hands out [`Write`]s afterwards; the
//! shell applies them and ignores failures (private mode, quota, disabled
//! storage), so the tracker keeps working in memory.

use alloc::string::String;

/// sessionStorage: the session id.
pub const SESSION: &str = "did_session";
/// sessionStorage: last activity, ms since epoch, decimal.
pub const SESSION_TIMESTAMP: &str = "did_session_timestamp";
/// sessionStorage: session start, ms since epoch, decimal.
pub const SESSION_START: &str = "did_session_start";
/// sessionStorage: pages viewed in this session, decimal.
pub const PAGE_COUNT: &str = "did_page_count";
/// sessionStorage: `"1"` while a page of this tab is alive; removed on
/// pagehide. Found at start-up, it means the browser copied the storage of a
/// tab that is still open (a duplicate).
pub const TAB_ALIVE: &str = "did_tab";
/// localStorage: the visitor id.
pub const VISITOR: &str = "did";
/// localStorage: events not yet acknowledged, one JSON object per line.
pub const OUTBOX: &str = crate::outbox::STORAGE_KEY;

/// Every key the tracker writes, for `clear()` and the README.
pub const SESSION_KEYS: &[&str] = &[
    SESSION,
    SESSION_TIMESTAMP,
    SESSION_START,
    PAGE_COUNT,
    TAB_ALIVE,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Local,
    Session,
    /// `document.cookie`: the value is the whole assignment (attributes
    /// included); `key` is the cookie's name.
    Cookie,
}

/// One storage change: set `key` to `value`, or remove it when `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub area: Area,
    pub key: &'static str,
    pub value: Option<String>,
}

/// The stored values the tracker starts from (None: absent or unreadable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub session: Option<String>,
    pub session_timestamp: Option<String>,
    pub session_start: Option<String>,
    pub page_count: Option<String>,
    pub tab_alive: Option<String>,
    pub visitor: Option<String>,
}

impl Snapshot {
    /// Builds a snapshot from a lookup function over (area, key).
    pub fn read(mut get: impl FnMut(Area, &str) -> Option<String>) -> Snapshot {
        Snapshot {
            session: get(Area::Session, SESSION),
            session_timestamp: get(Area::Session, SESSION_TIMESTAMP),
            session_start: get(Area::Session, SESSION_START),
            page_count: get(Area::Session, PAGE_COUNT),
            tab_alive: get(Area::Session, TAB_ALIVE),
            visitor: get(Area::Local, VISITOR),
        }
    }
}
