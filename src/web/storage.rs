//! localStorage/sessionStorage glue. Every failure (storage disabled,
//! SecurityError in a sandboxed frame, quota, private mode) is swallowed:
//! the tracker then keeps its state in memory only.

use crate::store::{Area, Snapshot, Write};
use alloc::string::String;
use alloc::vec::Vec;
use wasm_bindgen::JsCast;
use web_sys::{HtmlDocument, Storage};

/// Both storage areas and the cookie jar, each absent when the browser
/// refused it.
pub struct Store {
    local: Option<Storage>,
    session: Option<Storage>,
    cookies: Option<HtmlDocument>,
}

impl Store {
    /// Opens both areas; a getter that throws leaves that area absent.
    pub fn open() -> Store {
        let w = super::window();
        Store {
            local: w.local_storage().ok().flatten(),
            session: w.session_storage().ok().flatten(),
            cookies: w.document().map(|d| d.unchecked_into()),
        }
    }

    /// A store that keeps nothing (consent withdrawn).
    pub fn none() -> Store {
        Store {
            local: None,
            session: None,
            cookies: None,
        }
    }

    fn area(&self, area: Area) -> Option<&Storage> {
        match area {
            Area::Local => self.local.as_ref(),
            Area::Session => self.session.as_ref(),
            Area::Cookie => None,
        }
    }

    pub fn get(&self, area: Area, key: &str) -> Option<String> {
        self.area(area)?.get_item(key).ok().flatten()
    }

    /// Sets `key`; for cookies `value` is the whole `document.cookie`
    /// assignment.
    pub fn set(&self, area: Area, key: &str, value: &str) {
        if area == Area::Cookie {
            if let Some(d) = &self.cookies {
                let _ = d.set_cookie(value);
            }
            return;
        }
        if let Some(s) = self.area(area) {
            let _ = s.set_item(key, value);
        }
    }

    pub fn remove(&self, area: Area, key: &str) {
        if let Some(s) = self.area(area) {
            let _ = s.remove_item(key);
        }
    }

    /// Applies the tracker's writes in order.
    pub fn apply(&self, writes: Vec<Write>) {
        for w in writes {
            match w.value {
                Some(v) => self.set(w.area, w.key, &v),
                None => self.remove(w.area, w.key),
            }
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::read(|area, key| self.get(area, key))
    }
}
