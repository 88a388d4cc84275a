//! The core: the tracker of one page as a state machine of inputs and
//! commands. Its parts, one idea each:
//! - `lifecycle`: `init`, consent, the start and the stop;
//! - `held`: the calls held until consent;
//! - `identity`: the visitor and the session (start, rotation, cross-domain
//!   ids, back/forward-cache resync, `clear()`, withdrawn consent, cookies);
//! - `views`: page views and their exits, page hide and restore;
//! - `activity`: visibility, focus, interactions, scrolls;
//! - `events`: the event envelope, `track()` and handing events to delivery;
//! - `answers`: what the collector's answer and the browser's beacon
//!   verdict do;
//! - `storage`: the storage reads the core waits for, and the outbox they
//!   keep in sync;
//! - `queries`: the API's reads (`getSessionId`, ...).

mod activity;
mod answers;
mod events;
mod held;
mod identity;
mod lifecycle;
mod queries;
mod storage;
mod views;

pub use answers::{has_rejected, sealed_ids};
pub use events::PropsProblem;
pub use events::Refusal;
pub use identity::Carried;
pub use lifecycle::Init;
pub use views::Page;

use alloc::string::String;
use alloc::vec::Vec;

use crate::batch::BatchRule;
use crate::command::{Answer, Command};
use crate::config::Config;
use crate::delivery::Delivery;
use crate::engagement::Engagement;
use crate::rand::Rng;
use crate::session::Session;
use crate::time::Millis;

use held::Held;
use lifecycle::{Consent, Stage};
use storage::Reads;
use views::View;

/// Activity moves the stored last-activity time at most this often (a
/// scroll storm must not write storage on every event). Page hide and page
/// views always write it.
pub const ACTIVITY_WRITE_INTERVAL: Millis = Millis(5_000);

pub const SCREEN_VIEW: &str = "screen_view";
pub const PAGE_EXIT: &str = "page_exit";
/// `navigation_type` of the screen view after a back/forward cache restore.
pub const BFCACHE: &str = "back_forward_cache";

/// The tracker of one page: every decision of sessionmark (README
/// "Sessions", "Page views and engagement", "Delivery", "Consent"), with no
/// clock and no browser. The shell feeds it inputs and carries out the
/// commands it hands back.
///
/// # Inputs
/// Each takes `now` (ms since the epoch, from the shell's clock) first.
/// - Randomness: [`handle_random`](Tracker::handle_random), 128 fresh bits
///   from `crypto.getRandomValues` before every other input (the ids that
///   input mints depend on them).
/// - Lifecycle: [`handle_init`](Tracker::handle_init) (options, the page's
///   location), [`handle_consent`](Tracker::handle_consent),
///   and [`handle_stored`](Tracker::handle_stored): the values the shell
///   read for a [`Command::Read`].
/// - The page: [`handle_page_shown`](Tracker::handle_page_shown) (once
///   listening, and again when a prerendered page is shown),
///   [`handle_page_view`](Tracker::handle_page_view) (History API
///   navigation, `screenView()`),
///   [`handle_visibility`](Tracker::handle_visibility),
///   [`handle_focus`](Tracker::handle_focus),
///   [`handle_interaction`](Tracker::handle_interaction),
///   [`handle_scroll`](Tracker::handle_scroll),
///   [`handle_page_hide`](Tracker::handle_page_hide) (`pagehide`),
///   [`handle_page_restore`](Tracker::handle_page_restore) (back/forward
///   cache).
/// - The API: [`handle_track`](Tracker::handle_track),
///   [`handle_globals`](Tracker::handle_globals),
///   [`handle_identify`](Tracker::handle_identify),
///   [`handle_flush`](Tracker::handle_flush),
///   [`handle_clear`](Tracker::handle_clear), and the reads that apply the
///   session rules before they answer (so they may rotate the session and
///   queue its `page_exit` and `screen_view`):
///   [`handle_session_id_read`](Tracker::handle_session_id_read),
///   [`handle_visitor_id_read`](Tracker::handle_visitor_id_read),
///   [`handle_tracker_read`](Tracker::handle_tracker_read).
///   [`engaged_time`](Tracker::engaged_time) only reads.
/// - Transport: [`handle_sent`](Tracker::handle_sent) (the answer to a
///   [`Command::Send`]), [`handle_beacon`](Tracker::handle_beacon) (whether
///   the browser took a beacon), [`handle_timer`](Tracker::handle_timer).
///
/// # Outputs
/// [`poll_commands`](Tracker::poll_commands) hands back what to do, in
/// order, as one text written as the inputs go (the [`Command`]s, then
/// the input's [`crate::command::Answer`]; README "How it fits
/// together"): storage sets and removals, cookie writes, requests (with
/// their [`crate::command::Mode`]), warnings, the next timer, and
/// [`Command::Read`], [`Command::Listen`], [`Command::Trace`],
/// [`Command::Stop`].
///
/// # Order
/// 1. [`Tracker::new`], then `handle_init` (after `handle_random`, as every
///    input).
/// 2. After every input, `poll_commands(now, answer)` and carry the
///    commands out in order. A `Read` is always last: answer it at once with
///    `handle_stored` (the core waits for those values), then poll again.
/// 3. On `Listen`, attach the page's listeners and call
///    `handle_page_shown` with the page's state (and again on
///    `prerenderingchange`).
/// 4. Then any input as it happens; `handle_timer` when the timer that a
///    `Timer` command armed fires.
///
/// Calls made before consent is given are held in memory (README
/// "Consent"); calls made before `init` do nothing.
pub struct Tracker {
    stage: Stage,
    consent: Consent,
    cfg: Config,
    rng: Rng,
    /// The page's query at `init` (`location.search`): the ids carried in
    /// it are adopted at the start.
    carried_query: String,
    /// Calls made while the start waits for consent, and events tracked
    /// while a prerendered page waits to be shown.
    held: Vec<Held>,
    reads: Reads,
    /// The commands so far, as the text the shell receives
    /// ([`crate::command::write`]).
    commands: String,
    /// The deadline the shell's timer is armed for.
    armed: Option<Millis>,
    view: View,
    /// Whether cookies are written (None before `init` and once consent
    /// is withdrawn), and with `Secure` (https).
    cookies: Option<bool>,
    session: Session,
    visitor: String,
    /// The user id of `identify()`; empty when none.
    user: String,
    page_count: u64,
    /// When the session's first page view was (for a session taken up from
    /// storage, its start): no event of the session is stamped earlier.
    /// Meaningful once `page_count` is above 0.
    entered: Millis,
    /// The last-activity time most recently written to storage.
    written_activity: Millis,
    /// This page's mark in `did_tab` (random): a page removes the mark on
    /// pagehide only if it is still its own, since Chromium runs the left
    /// page's pagehide after a restored page's pageshow.
    page_token: String,
    /// `setGlobalProperties` as JSON object text: the properties of the
    /// events the tracker makes itself (exits, restore and rotation views).
    globals: String,
    delivery: Delivery,
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker::new()
    }
}

impl Tracker {
    /// A tracker before `init()`: it answers nothing and stores nothing.
    /// A `const fn`: the shell's tracker starts as data (README "Size").
    pub const fn new() -> Tracker {
        let cfg = Config::DEFAULT;
        Tracker {
            stage: Stage::New,
            consent: Consent::Unasked,
            rng: Rng::new(0, 0),
            carried_query: String::new(),
            held: Vec::new(),
            reads: Reads::NEW,
            commands: String::new(),
            armed: None,
            view: View::new(Millis(0)),
            cookies: None,
            session: Session {
                id: String::new(),
                start: Millis(0),
                last_activity: Millis(0),
            },
            visitor: String::new(),
            user: String::new(),
            page_count: 0,
            entered: Millis(0),
            written_activity: Millis(0),
            page_token: String::new(),
            globals: String::new(),
            delivery: Delivery::new(batch_rule(&cfg)),
            cfg,
        }
    }

    /// Whether the tracker runs: started, and consent not withdrawn.
    pub fn is_running(&self) -> bool {
        self.stage == Stage::Running
    }

    /// The options in effect.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The visitor id (empty before the start).
    pub fn visitor_id(&self) -> &str {
        &self.visitor
    }

    /// The session id as it stands, without applying the rules (see
    /// [`Tracker::handle_session_id_read`] for what the API answers).
    pub fn current_session_id(&self) -> &str {
        &self.session.id
    }

    pub fn session_start(&self) -> Millis {
        self.session.start
    }

    pub fn page_count(&self) -> u64 {
        self.page_count
    }

    /// Engaged milliseconds of the current page view; None unless running.
    pub fn engaged_time(&self, now: Millis) -> Option<Millis> {
        self.is_running().then(|| self.view.engagement.engaged(now))
    }

    /// Delivery's state (for tests and diagnostics; inputs change it).
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    fn push(&mut self, command: Command) {
        crate::command::write(&mut self.commands, &command);
    }

    fn warn(&mut self, text: &str) {
        self.push(Command::Warn(text.into()));
    }

    /// Everything to do after the inputs so far, in order, as the text the
    /// shell receives ([`crate::command`]): what the inputs decided, then
    /// the requests that became due, the timer if its deadline moved, a
    /// read the core waits for, and last `answer`, the input's answer.
    pub fn poll_commands(&mut self, now: Millis, answer: Answer) -> String {
        if self.is_running() {
            // By reference, written from borrowed fields: a consuming loop
            // and the copies are code of their own (README "Size").
            for send in self.delivery.sends() {
                crate::command::write_send(
                    &mut self.commands,
                    send.id,
                    send.mode,
                    &self.cfg.endpoint,
                    &send.body,
                );
            }
            self.delivery.sent();
            let deadline = self.delivery.deadline();
            if deadline != self.armed {
                self.armed = deadline;
                self.push(Command::Timer(deadline.map(|d| d.since(now))));
            }
        }
        if let Some(keys) = self.reads.ask() {
            self.push(Command::Read(keys));
        }
        crate::command::finish(&mut self.commands, answer, &self.session.id, &self.visitor);
        core::mem::take(&mut self.commands)
    }

    /// 128 fresh random bits from the browser (its 16 bytes as two
    /// little-endian halves), given before each input: mixed into the id
    /// generator, so every id minted from now on depends on them (README
    /// "Sessions").
    pub fn handle_random(&mut self, lo: u64, hi: u64) {
        self.rng.reseed(lo, hi);
    }

    /// The timer armed by [`Command::Timer`] fired: due batches and
    /// retries go out.
    pub fn handle_timer(&mut self, now: Millis) {
        self.armed = None;
        if self.is_running() {
            self.delivery.poll(now, false);
        }
    }

    /// `flush()`: everything queued or waiting for a retry goes now.
    pub fn handle_flush(&mut self, _now: Millis) {
        if self.is_running() {
            self.delivery.flush(false);
        }
    }
}

// The batch size is at most 50 (`Config::set` clamps it).
#[allow(clippy::cast_possible_truncation)]
const fn batch_rule(cfg: &Config) -> BatchRule {
    BatchRule {
        enabled: cfg.enable_batching,
        size: cfg.batch_size as usize,
        timeout: cfg.batch_timeout,
    }
}

impl View {
    const fn new(now: Millis) -> View {
        View {
            key: String::new(),
            href: String::new(),
            path: String::new(),
            title: String::new(),
            referrer: String::new(),
            active: false,
            engagement: Engagement::new(now, false, false),
        }
    }
}
