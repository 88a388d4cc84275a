//! The wasm boundary as plain data: the shell calls one function with an
//! input's number, the time and one text; the text holds 4 random 32-bit
//! words (`crypto.getRandomValues`, fresh for each input: see
//! [`Tracker::handle_random`]), then the input's fields, all separated by
//! `'\n'`, the last field taking the rest (it may hold line breaks).
//! [`handle`] decodes them into a call on [`Tracker`] and answers with
//! the text of [`Tracker::poll_commands`]. Kept apart from the
//! shell so that the native tests drive exactly what the browser does.
//!
//! Field groups the shim reads the same way everywhere:
//! - page: `location.pathname`, `.search`, `.hash`, `.href`,
//!   `document.title`, `document.referrer`;
//! - scroll: `scrollY`, `innerHeight`, the document's `scrollHeight`, and
//!   whether the document is still loading;
//! - presence: visible, focused (`document.hasFocus()`), prerendering.
//!
//! Booleans are `true`/`false`; numbers are decimal (a fraction is cut).

use alloc::string::String;

use crate::command::Answer;
use crate::engagement::scroll_depth;
use crate::json::parse_u64;
use crate::text::cut;
use crate::time::Millis;
use crate::tracker::{Init, Page, PropsProblem, Tracker};

/// The inputs, by the number the shell sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// `location.search`, `location.hostname`, `location.protocol`, the
    /// script tag's src (empty for the npm import), the options
    /// (`name=value` lines).
    Init,
    /// type (`typeof`), granted (`=== true`).
    Consent,
    /// The values of the last read, in its order.
    Stored,
    /// presence, page, scroll: once listening, and when a prerendered
    /// page is shown.
    PageShown,
    /// page, scroll, manual, props problem, props.
    PageView,
    /// visible. Hidden also sends everything by beacon.
    Visibility,
    /// focused.
    Focus,
    Interaction,
    /// scroll, by the user.
    Scroll,
    /// scroll.
    PageHide,
    /// presence, scroll.
    PageRestore,
    /// page, props problem, props, type of the name (`typeof`), the name
    /// (if a string).
    Track,
    /// props problem, props.
    Globals,
    Flush,
    /// scroll.
    Clear,
    /// query (`sessionId`/`anonId` to adopt). Answers the session id.
    SessionIdRead,
    /// query. Answers the visitor id.
    VisitorIdRead,
    /// Answers `[pageCount, sessionStart]`.
    TrackerRead,
    /// Answers the engaged ms of the page view.
    EngagedTimeRead,
    /// request id, HTTP status (0: network error), answer body.
    Sent,
    /// request id, taken.
    Beacon,
    Timer,
    /// type (`typeof`), the user id (if a string).
    Identify,
}

impl Code {
    /// In the order of the variants above: the shim's numbers.
    const ALL: [Code; 23] = [
        Code::Init,
        Code::Consent,
        Code::Stored,
        Code::PageShown,
        Code::PageView,
        Code::Visibility,
        Code::Focus,
        Code::Interaction,
        Code::Scroll,
        Code::PageHide,
        Code::PageRestore,
        Code::Track,
        Code::Globals,
        Code::Flush,
        Code::Clear,
        Code::SessionIdRead,
        Code::VisitorIdRead,
        Code::TrackerRead,
        Code::EngagedTimeRead,
        Code::Sent,
        Code::Beacon,
        Code::Timer,
        Code::Identify,
    ];

    pub fn from_number(n: u32) -> Option<Code> {
        Code::ALL.get(usize::try_from(n).ok()?).copied()
    }
}

/// The fields of an input's text, read in order: what is left of it
/// (after the last field, the empty text, whose fields are all empty).
struct Fields<'a>(&'a str);

impl<'a> Fields<'a> {
    fn text(&mut self) -> &'a str {
        let (field, after) = cut(self.0, b'\n').unwrap_or((self.0, ""));
        self.0 = after;
        field
    }

    /// The last field: everything left.
    fn rest(&mut self) -> &'a str {
        core::mem::take(&mut self.0)
    }

    fn flag(&mut self) -> bool {
        self.text() == "true"
    }

    /// A whole number; anything else (negative, NaN) is 0.
    fn number(&mut self) -> u64 {
        let t = self.text();
        parse_u64(cut(t, b'.').map_or(t, |(whole, _)| whole)).unwrap_or(0)
    }

    fn page(&mut self) -> Page<'a> {
        Page {
            path: self.text(),
            search: self.text(),
            hash: self.text(),
            href: self.text(),
            title: self.text(),
            referrer: self.text(),
        }
    }

    /// The scroll depth measured now; None while the document is still
    /// loading (a script in `<head>` would see an empty, unscrollable body
    /// and report 100).
    fn depth(&mut self) -> Option<u64> {
        let (y, viewport, height) = (self.number(), self.number(), self.number());
        let loading = self.flag();
        (!loading).then(|| scroll_depth(y, viewport, height))
    }

    fn props_problem(&mut self) -> Option<PropsProblem> {
        match self.text() {
            "object" => Some(PropsProblem::NotAnObject),
            "values" => Some(PropsProblem::DroppedValues),
            _ => None,
        }
    }
}

/// One input from the shell: decoded, handled, and answered with the
/// commands to carry out and the answer (`command, ..., answer]`, see
/// [`crate::command`]). An unknown code does nothing.
pub fn handle(tracker: &mut Tracker, code: u32, now: Millis, text: &str) -> String {
    let answer = apply(tracker, code, now, text);
    tracker.poll_commands(now, answer)
}

/// The input's part of [`handle`]: decodes `text` and calls the tracker,
/// whose commands wait for [`Tracker::poll_commands`]. Returns the
/// answer to the page's API call.
pub fn apply(tracker: &mut Tracker, code: u32, now: Millis, text: &str) -> Answer {
    let mut f = Fields(text);
    let mut answer = Answer::None;
    let Some(code) = Code::from_number(code) else {
        return answer;
    };
    // Four 32-bit words, little-endian: two 64-bit halves.
    let lo = f.number() ^ f.number() << 32;
    let hi = f.number() ^ f.number() << 32;
    tracker.handle_random(lo, hi);
    match code {
        Code::Init => {
            let (query, host) = (f.text(), f.text());
            let https = f.text() == "https:";
            let script = f.text();
            let init = Init {
                query,
                host,
                https,
                script,
                options: f.rest(),
            };
            tracker.handle_init(now, &init);
        }
        Code::Consent => {
            let kind = f.text();
            tracker.handle_consent(now, (kind == "boolean").then(|| f.flag()));
        }
        Code::Stored => tracker.handle_stored(now, f.rest()),
        Code::PageShown => {
            let (visible, focused, prerendering) = (f.flag(), f.flag(), f.flag());
            let page = f.page();
            tracker.handle_page_shown(now, visible, focused, prerendering, &page, f.depth());
        }
        Code::PageView => {
            let page = f.page();
            let depth = f.depth();
            let manual = f.flag();
            if let Some(p) = f.props_problem() {
                tracker.handle_props_problem(p);
            }
            tracker.handle_page_view(now, &page, f.rest(), manual, depth);
        }
        Code::Visibility => tracker.handle_visibility(now, f.flag()),
        Code::Focus => tracker.handle_focus(now, f.flag()),
        Code::Interaction => tracker.handle_interaction(now),
        Code::Scroll => {
            let depth = f.depth();
            tracker.handle_scroll(now, depth, f.flag());
        }
        Code::PageHide => tracker.handle_page_hide(now, f.depth()),
        Code::PageRestore => {
            let (visible, focused, _prerendering) = (f.flag(), f.flag(), f.flag());
            tracker.handle_page_restore(now, visible, focused, f.depth());
        }
        Code::Track => {
            let page = f.page();
            if let Some(p) = f.props_problem() {
                tracker.handle_props_problem(p);
            }
            let props = f.text();
            // A name that is not a string is refused like an empty one.
            let name = if f.text() == "string" { f.rest() } else { "" };
            let _ = tracker.handle_track(now, name, props, &page);
        }
        Code::Globals => {
            if let Some(p) = f.props_problem() {
                tracker.handle_props_problem(p);
            }
            tracker.handle_globals(f.rest());
        }
        Code::Flush => tracker.handle_flush(now),
        Code::Clear => tracker.handle_clear(now, f.depth()),
        Code::SessionIdRead => {
            if tracker
                .handle_session_id_read(now, Some(f.rest()))
                .is_some()
            {
                answer = Answer::SessionId;
            }
        }
        Code::VisitorIdRead => {
            if tracker
                .handle_visitor_id_read(now, Some(f.rest()))
                .is_some()
            {
                answer = Answer::VisitorId;
            }
        }
        Code::TrackerRead => {
            if let Some((count, start)) = tracker.handle_tracker_read(now) {
                answer = Answer::Pair(count, start.0);
            }
        }
        Code::EngagedTimeRead => {
            if let Some(ms) = tracker.engaged_time(now) {
                answer = Answer::Number(ms.0);
            }
        }
        Code::Sent => {
            let id = u32::try_from(f.number()).unwrap_or(0);
            let status = u16::try_from(f.number()).unwrap_or(0);
            tracker.handle_sent(now, id, status, f.rest());
        }
        Code::Beacon => {
            let id = u32::try_from(f.number()).unwrap_or(0);
            tracker.handle_beacon(now, id, f.flag());
        }
        Code::Timer => tracker.handle_timer(now),
        Code::Identify => {
            let kind = f.text();
            tracker.handle_identify((kind == "string").then(|| f.rest()));
        }
    }
    answer
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::Fields;

    #[test]
    fn scroll_numbers_are_whole_pixels_and_nonsense_reads_as_zero() {
        // A rubber-band scroll (negative), a fractional one, NaN, Infinity.
        let mut f = Fields("-50\n412.75\nNaN\nInfinity\n");
        let read: Vec<u64> = (0..4).map(|_| f.number()).collect();
        assert_eq!(read, [0, 412, 0, 0]);
        // While the document loads the depth is not read at all.
        assert_eq!(Fields("-50\n500\n2000\nfalse").depth(), Some(25));
        assert_eq!(Fields("0\n500\n2000\ntrue").depth(), None);
    }
}
