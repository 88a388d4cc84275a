//! A fake shell for the native tests: it feeds the core's inputs through
//! `sessionmark::input::handle` (the exact text the wasm export gets) or
//! calls the typed inputs, and carries out every command the way the JS
//! shim does: storage maps shared by the tabs of one browser, a
//! sessionStorage per tab, a cookie jar, requests collected until the test
//! answers them, warnings, the timer, reads answered at once.
#![allow(dead_code)]

mod commands;
mod sent;
#[allow(unused_imports)]
pub use commands::{decode, poll_commands};
#[allow(unused_imports)]
pub use sent::{sent_events, sent_shared};

use serde_json::Value;
use sessionmark::command::{Command, Mode};
use sessionmark::config::Config;
use sessionmark::delivery::Outcome;
use sessionmark::ids;
use sessionmark::input::{handle, Code};
use sessionmark::outbox;
use sessionmark::rand::Rng;
use sessionmark::store::{Area, Key};
use sessionmark::time::Millis;
use sessionmark::tracker::{Init, Page, Tracker};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

pub const T0: Millis = Millis(1_709_318_400_000);

/// One storage map, shared by whoever holds a clone.
#[derive(Clone, Default, Debug)]
pub struct Store(Rc<RefCell<HashMap<String, String>>>);

impl Store {
    pub fn get(&self, key: &str) -> Option<String> {
        self.0.borrow().get(key).cloned()
    }

    pub fn set(&self, key: &str, value: &str) {
        self.0.borrow_mut().insert(key.into(), value.into());
    }

    pub fn remove(&self, key: &str) {
        self.0.borrow_mut().remove(key);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.borrow().contains_key(key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    pub fn values(&self) -> Vec<String> {
        self.0.borrow().values().cloned().collect()
    }

    pub fn keys(&self) -> Vec<String> {
        self.0.borrow().keys().cloned().collect()
    }
}

/// localStorage and cookies, shared by every tab of the browser.
pub struct Browser {
    pub local: Store,
    /// Cookie name → the last `document.cookie` assignment for it.
    pub cookies: Store,
    seed: u64,
    /// What pages opened from now on report at `Listen`: visible, focused,
    /// prerendering. By default not visible, not focused, and
    /// prerendering, so that no page view happens until the test makes one.
    pub shown: (bool, bool, bool),
}

impl Default for Browser {
    fn default() -> Browser {
        Browser {
            local: Store::default(),
            cookies: Store::default(),
            seed: 0,
            shown: (false, false, true),
        }
    }
}

/// A tab: its own sessionStorage.
#[derive(Clone, Default)]
pub struct Tab {
    pub session: Store,
}

impl Tab {
    pub fn new() -> Tab {
        Tab::default()
    }

    /// A tab whose session began at `start` on an earlier page, with that
    /// page's view: a page opened in it (prerendered by default, so without
    /// a view of its own) sends its events at once, since the session
    /// already began with a `screen_view` (README "Page views and
    /// engagement"). What the delivery tests count on.
    pub fn in_session(start: Millis) -> Tab {
        let tab = Tab::new();
        let id = ids::mint_session_id(start, &mut Rng::new(7, 7));
        tab.session.set(Key::Session.name(), &id);
        tab.session
            .set(Key::SessionStart.name(), &start.0.to_string());
        tab.session
            .set(Key::SessionTimestamp.name(), &start.0.to_string());
        tab.session.set(Key::PageCount.name(), "1");
        tab
    }

    /// The browser copies sessionStorage into a duplicated tab.
    pub fn duplicate(&self) -> Tab {
        let copy = Store::default();
        for k in self.session.keys() {
            copy.set(&k, &self.session.get(&k).unwrap());
        }
        Tab { session: copy }
    }
}

/// A request the core asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: u32,
    pub mode: Mode,
    pub url: String,
    pub body: String,
}

/// One page of a tab, with its tracker.
pub struct PageShell {
    pub tracker: Tracker,
    pub local: Store,
    pub session: Store,
    pub cookies: Store,
    /// Requests made and not yet taken by the test.
    pub requests: Vec<Request>,
    pub warnings: Vec<String>,
    /// When the armed timer fires (absolute), if armed.
    pub timer: Option<Millis>,
    pub listening: bool,
    pub traced: Vec<String>,
    pub stopped: bool,
    /// What the browser answers to a beacon as requests are taken: takes
    /// it (true), refuses it (false), or None: the test answers itself.
    pub beacons: Option<bool>,
    /// Visible, focused and prerendering as reported at `Listen`.
    pub shown: (bool, bool, bool),
    /// The page reported at `Listen`.
    pub url: String,
    /// The random words [`PageShell::input`] sends before the fields
    /// (zeros: the page's generator goes on as seeded at the start).
    pub random: [u32; 4],
    /// Every storage write of this page, in order.
    pub written: Vec<(Key, String)>,
}

/// Options as the shim writes them, from a `Config`'s values.
pub fn option_lines(cfg: &Config) -> String {
    format!(
        "clientId={}\nsessionTimeout={}\nmaxSessionLength={}\nenableBatching={}\nbatchSize={}\nbatchTimeout={}\ntrackHashChanges={}\nrequireConsent={}",
        cfg.client_id,
        cfg.session_timeout.0,
        cfg.max_session_length.0,
        cfg.enable_batching,
        cfg.batch_size,
        cfg.batch_timeout.0,
        cfg.track_hash_changes,
        cfg.require_consent,
    )
}

pub fn page(path: &str) -> Page<'_> {
    Page {
        path,
        href: "",
        ..Page::default()
    }
}

impl Browser {
    /// Opens a page in `tab` at `now` with `cfg` and the URL's `query`;
    /// at `Listen` it reports [`Browser::shown`].
    pub fn open(&mut self, tab: &Tab, now: Millis, cfg: &Config, query: &str) -> PageShell {
        self.open_with(tab, now, &option_lines(cfg), query)
    }

    /// [`Browser::open`] with the options as the shim writes them.
    pub fn open_with(&mut self, tab: &Tab, now: Millis, options: &str, query: &str) -> PageShell {
        self.seed += 1;
        let mut p = PageShell {
            tracker: Tracker::new(),
            local: self.local.clone(),
            session: tab.session.clone(),
            cookies: self.cookies.clone(),
            requests: Vec::new(),
            warnings: Vec::new(),
            timer: None,
            listening: false,
            traced: Vec::new(),
            stopped: false,
            beacons: Some(true),
            shown: self.shown,
            url: String::new(),
            random: [0; 4],
            written: Vec::new(),
        };
        // A deterministic fake of the browser's random bytes: each page its own.
        p.tracker.handle_random(self.seed, 99);
        let init = Init {
            options,
            query,
            host: "example.com",
            https: false,
            script: "",
        };
        p.tracker.handle_init(now, &init);
        p.settle(now);
        p
    }
}

impl PageShell {
    /// Carries out the commands of the inputs so far, answering reads at
    /// once (as the shim does).
    pub fn settle(&mut self, now: Millis) {
        loop {
            let commands = self.poll_commands(now);
            if commands.is_empty() {
                return;
            }
            for c in commands {
                self.perform(now, c);
            }
        }
    }

    fn area(&self, area: Area) -> &Store {
        match area {
            Area::Local => &self.local,
            Area::Session => &self.session,
        }
    }

    fn perform(&mut self, now: Millis, c: Command) {
        match c {
            Command::Set(key, value) => {
                self.area(key.area()).set(key.name(), &value);
                self.written.push((key, value));
            }
            Command::Remove(key) => self.area(key.area()).remove(key.name()),
            Command::Cookie(assignment) => {
                let name = assignment.split('=').next().unwrap().to_owned();
                self.cookies.set(&name, &assignment);
            }
            Command::Send {
                id,
                mode,
                url,
                body,
            } => self.requests.push(Request {
                id,
                mode,
                url,
                body,
            }),
            Command::Warn(w) => self.warnings.push(w),
            Command::Timer(delay) => self.timer = delay.map(|d| now.plus(d)),
            Command::Read(keys) => {
                let values: Vec<String> = keys
                    .iter()
                    .map(|k| self.area(k.area()).get(k.name()).unwrap_or_default())
                    .collect();
                self.tracker.handle_stored(now, &values.join("\n"));
            }
            Command::Listen => {
                self.listening = true;
                let (visible, focused, prerendering) = self.shown;
                let url = self.url.clone();
                self.tracker.handle_page_shown(
                    now,
                    visible,
                    focused,
                    prerendering,
                    &page(&url),
                    None,
                );
            }
            Command::Trace(hosts) => self.traced = hosts.split(',').map(String::from).collect(),
            Command::Stop => {
                self.stopped = true;
                self.listening = false;
                self.timer = None;
            }
        }
    }

    /// Input `code` at `now` as the shim sends it (its fields joined by
    /// line breaks, decoded by `sessionmark::input`), then carries out its
    /// commands; returns the answer to the API call as the shim reads it.
    /// The random words before the fields are [`PageShell::random`].
    pub fn input(&mut self, now: Millis, code: Code, fields: &[&str]) -> Value {
        let words = self.random.map(|w| w.to_string());
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = [&words[..], fields].concat().join("\n");
        self.input_text(now, code as u32, &text)
    }

    /// Input number `code` at `now` with `text` exactly as given (random
    /// words included), through the wasm export's own path
    /// (`sessionmark::input::handle`), then its commands carried out.
    pub fn input_text(&mut self, now: Millis, code: u32, text: &str) -> Value {
        let (commands, answer) = decode(&handle(&mut self.tracker, code, now, text));
        for c in commands {
            self.perform(now, c);
        }
        self.settle(now);
        answer
    }

    /// Runs one typed input at `now`, then carries out its commands.
    pub fn at<R>(&mut self, now: Millis, f: impl FnOnce(&mut Tracker) -> R) -> R {
        let r = f(&mut self.tracker);
        self.settle(now);
        r
    }

    /// Requests made since the last call, in order. Beacons are answered
    /// as [`PageShell::beacons`] says (a refused one comes back as a
    /// keepalive fetch, also returned).
    pub fn take_requests(&mut self, now: Millis) -> Vec<Request> {
        let mut out = Vec::new();
        loop {
            let batch = std::mem::take(&mut self.requests);
            if batch.is_empty() {
                return out;
            }
            for r in batch {
                if let (Mode::Beacon, Some(taken)) = (r.mode, self.beacons) {
                    self.beacon(r.id, taken, now);
                }
                out.push(r);
            }
        }
    }

    /// The browser's verdict on beacon `id`.
    pub fn beacon(&mut self, id: u32, taken: bool, now: Millis) {
        self.at(now, |t| t.handle_beacon(now, id, taken));
    }

    /// The answer to request `id`.
    pub fn answer(&mut self, id: u32, status: u16, body: &str, now: Millis) -> Outcome {
        self.at(now, |t| {
            t.handle_sent_and(now, id, status, body, Outcome::clone)
        })
    }

    /// The answer to request `id`, with the collector's usual body.
    pub fn reply(&mut self, id: u32, status: u16, now: Millis) -> Outcome {
        self.answer(
            id,
            status,
            r#"{"accepted":1,"duplicates":0,"rejected":[],"sealed":[]}"#,
            now,
        )
    }

    /// `flush()` at `now`, then the events of every request made since
    /// the last take, in order, each whole ([`sent_events`]).
    pub fn flushed(&mut self, now: Millis) -> Vec<serde_json::Value> {
        self.flush(now);
        self.take_requests(now)
            .iter()
            .flat_map(|r| sent_events(&r.body))
            .collect()
    }

    /// The armed timer fires at `now` (whether or not it is due).
    pub fn tick(&mut self, now: Millis) {
        self.at(now, |t| t.handle_timer(now));
    }

    pub fn flush(&mut self, now: Millis) {
        self.at(now, |t| t.handle_flush(now));
    }

    /// `visibilitychange` to hidden: everything goes by beacon and into
    /// the outbox. Returns the ids this put into the stored outbox.
    pub fn hide(&mut self, now: Millis) -> Vec<String> {
        let before = self.outbox_ids();
        self.at(now, |t| t.handle_visibility(now, false));
        self.outbox_ids()
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect()
    }

    /// `pagehide`.
    pub fn leave(&mut self, now: Millis) {
        self.at(now, |t| t.handle_page_hide(now, None));
    }

    /// The ids in the stored outbox, in order.
    pub fn outbox_ids(&self) -> Vec<String> {
        outbox::parse(&self.local.get(Key::Outbox.name()).unwrap_or_default())
            .into_iter()
            .map(|q| q.id)
            .collect()
    }

    pub fn outbox_text(&self) -> String {
        self.local.get(Key::Outbox.name()).unwrap_or_default()
    }

    /// The session id the API answers at `now` (rules applied).
    pub fn sid(&mut self, now: Millis) -> String {
        self.at(now, |t| {
            t.handle_session_id_read(now, None).unwrap().to_owned()
        })
    }

    /// The value of cookie `name` as last written.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let c = self.cookies.get(name)?;
        let v = c.split(';').next()?.split_once('=')?.1;
        Some(v.to_owned())
    }
}
