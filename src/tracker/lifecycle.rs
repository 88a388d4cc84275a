//! From `init()` to running, and consent (README "Consent"): the options,
//! waiting for consent, the start once storage is read, and the stop when
//! consent is withdrawn.

use alloc::string::String;

use super::{batch_rule, Tracker};
use crate::command::Command;
use crate::cookies::checked_domain;
use crate::outbox;
use crate::store::{Keys, Snapshot};
use crate::text::{assign, find, pieces, push_lowercase};
use crate::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// Before `init()`.
    New,
    /// `init()` was called; waiting for consent or for the start's read.
    Waiting,
    Running,
    /// Consent was withdrawn: nothing more for this page.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Consent {
    Unasked,
    Granted,
    Refused,
}

/// What `init()` starts from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Init<'a> {
    /// The options as `name=value` lines, values written the way `data-`
    /// attributes are (README "Options").
    pub options: &'a str,
    /// `location.search`: may carry a cross-domain `sessionId`/`anonId`.
    pub query: &'a str,
    /// `location.hostname`: what `cookieDomain` must be or be a parent of.
    pub host: &'a str,
    /// The page is https: cookies get `Secure`.
    pub https: bool,
    /// The script tag's `src` (empty for the npm import): the default
    /// endpoint is `/v1/batch` on its origin.
    pub script: &'a str,
}

/// Appends `/v1/batch` on the origin of `script` (`scheme://host[:port]`),
/// or on the page's own origin when there is no script URL.
fn push_default_endpoint(url: &mut String, script: &str) {
    let origin = find(script, b"://")
        .and_then(|i| {
            // The host ends at the first `/`, `?` or `#` after `://`.
            let mut end = i + 3;
            while script
                .as_bytes()
                .get(end)
                .is_some_and(|b| !matches!(b, b'/' | b'?' | b'#'))
            {
                end += 1;
            }
            script.get(..end)
        })
        .unwrap_or("");
    url.push_str(origin);
    url.push_str("/v1/batch");
}

impl Tracker {
    /// `init(options)`: reads and checks the options (one warning per bad
    /// value), then starts, or waits for consent with `requireConsent` (or
    /// after `setConsent(false)`). A second call warns and does nothing.
    pub fn handle_init(&mut self, _now: Millis, init: &Init) {
        if self.stage != Stage::New {
            self.warn("init() called twice; ignored");
            return;
        }
        // Set on the tracker's own options, still the defaults before
        // `init` (no second `Config` moved in over them).
        for line in pieces(init.options, b'\n') {
            if let Some(w) = self.cfg.set_line(line) {
                self.warn(&w);
            }
        }
        if self.cfg.endpoint.is_empty() {
            push_default_endpoint(&mut self.cfg.endpoint, init.script);
        }
        // The option becomes the domain the cookies get: checked and
        // lowercased, or none.
        if !self.cfg.cookie_domain.is_empty() {
            match checked_domain(&self.cfg.cookie_domain, init.host) {
                Some(tail) => {
                    self.cfg.cookie_domain.clear();
                    push_lowercase(&mut self.cfg.cookie_domain, tail);
                }
                None => {
                    self.cfg.cookie_domain.clear();
                    self.warn("option cookieDomain is not this host or a parent; ignored");
                }
            }
        }
        self.cookies = Some(init.https);
        assign(&mut self.carried_query, init.query);
        self.delivery.set_rule(batch_rule(&self.cfg));
        self.stage = Stage::Waiting;
        self.start_if_allowed();
    }

    /// `setConsent(granted)`: `granted` is None when the value was not a
    /// boolean, which is refused with one warning and changes nothing
    /// (`'false'` or `{}` must not grant). Granted: a tracker waiting for
    /// it starts. Refused: the held calls are dropped (a later grant still
    /// starts); once running, everything stored is removed and the tracker
    /// stops for the rest of the page.
    pub fn handle_consent(&mut self, _now: Millis, granted: Option<bool>) {
        let Some(granted) = granted else {
            self.warn("setConsent() needs true or false; ignored");
            return;
        };
        if granted {
            self.consent = Consent::Granted;
            self.start_if_allowed();
            return;
        }
        self.consent = Consent::Refused;
        self.held.clear();
        if self.stage == Stage::Running {
            self.forget();
            self.stage = Stage::Stopped;
            self.push(Command::Stop);
        }
    }

    fn may_start(&self) -> bool {
        match self.consent {
            Consent::Granted => true,
            Consent::Refused => false,
            Consent::Unasked => !self.cfg.require_consent,
        }
    }

    /// Asks for what storage holds; the start goes on in
    /// [`Tracker::start`] once the shell answered.
    fn start_if_allowed(&mut self) {
        if self.stage == Stage::Waiting && self.may_start() && !self.reads.starting {
            self.reads.starting = true;
            self.reads.need(Keys::START);
        }
    }

    /// The start, from what storage held: identity and cookies, the
    /// tracing headers, the listeners, and the events an earlier page could
    /// not deliver (sent first).
    pub(super) fn start(&mut self, now: Millis, snap: &Snapshot) {
        if self.stage != Stage::Waiting || !self.may_start() {
            return;
        }
        self.stage = Stage::Running;
        // The view is as `Tracker::new` made it (nothing touches it before
        // the start): only its clock starts now.
        self.view.engagement.restart(now);
        self.start_identity(now, snap);
        if !self.cfg.tracing_headers.is_empty() {
            self.push(Command::Trace(self.cfg.tracing_headers.clone()));
        }
        self.push(Command::Listen);
        if let Some(text) = &snap.outbox {
            self.delivery.resend(outbox::parse(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_default_endpoint;
    use alloc::string::String;

    fn default_endpoint(script: &str) -> String {
        let mut url = String::new();
        push_default_endpoint(&mut url, script);
        url
    }

    #[test]
    fn the_default_endpoint_is_on_the_scripts_origin() {
        assert_eq!(
            default_endpoint("https://cdn.example:8443/dist/sessionmark.js?v=1"),
            "https://cdn.example:8443/v1/batch"
        );
        assert_eq!(
            default_endpoint("http://[::1]:3000"),
            "http://[::1]:3000/v1/batch"
        );
        assert_eq!(default_endpoint(""), "/v1/batch");
    }
}
