//! The core's outputs: what the shell must do, in order, after an input.
//!
//! The shell receives them as one JSON text per input, written as the
//! commands happen (no list of them is kept, README "Size"): the commands,
//! each an array that starts with its name and is followed by a comma
//! ([`write()`]), then the input's answer (`null` for inputs that answer
//! nothing) and `]` ([`finish`]). That is a JSON array without its opening
//! bracket, which the shim adds: `[command, ..., answer]`.

use alloc::string::String;

use crate::json::{push_str, push_u64};
use crate::store::{Key, Keys};
use crate::time::Millis;

/// How a request goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `fetch` without keepalive: the page is alive and the keepalive
    /// budget is taken.
    Fetch,
    /// `fetch` with `keepalive`: survives the page; counts against the
    /// browser's shared 64 KiB in-flight budget.
    Keepalive,
    /// `navigator.sendBeacon` (page hidden). The shell reports whether the
    /// browser took it; if not, the core asks for a keepalive fetch.
    Beacon,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fetch => "fetch",
            Mode::Keepalive => "keepalive",
            Mode::Beacon => "beacon",
        }
    }
}

/// One thing for the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `["set", area, key, value]`: store `value` under `key`.
    Set(Key, String),
    /// `["remove", area, key]`.
    Remove(Key),
    /// `["cookie", assignment]`: one `document.cookie = ...` assignment.
    Cookie(String),
    /// `["send", id, mode, url, body]`: make request `id`, then report its
    /// answer (or, for a beacon, whether the browser took it).
    Send {
        id: u32,
        mode: Mode,
        url: String,
        body: String,
    },
    /// `["warn", text]`: one `console.warn` of `sessionmark: ` and the text
    /// (the prefix added once by the shim, not held by every text).
    Warn(String),
    /// `["timer", ms]`: (re)arm the one timer to fire in `ms`; `["timer"]`
    /// disarms it.
    Timer(Option<Millis>),
    /// `["read", area, key, ...]`: read these keys now and answer with
    /// their values (the core waits for them before it goes on).
    Read(Keys),
    /// `["listen"]`: tracking starts: attach the page's listeners, then
    /// report the page as shown.
    Listen,
    /// `["trace", host, ...]`: add `X-Session-ID` to `fetch`/XHR requests
    /// to these hosts (README "Backend pairing").
    Trace(String),
    /// `["stop"]`: consent was withdrawn: remove every listener, the
    /// tracing headers and the timer.
    Stop,
}

/// What an input answers to the page's API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `null`: nothing, or not started (the API then returns null).
    None,
    /// The session id as the tracker holds it after the input.
    SessionId,
    /// The visitor id as the tracker holds it after the input.
    VisitorId,
    Number(u64),
    /// `[a, b]`: two numbers (`getTracker()`: page count, session start).
    Pair(u64, u64),
}

fn push_key(out: &mut String, key: Key) {
    push_str(out, key.area().name());
    out.push(',');
    push_str(out, key.name());
}

/// Appends `command` as a JSON array, and a comma. Each command's name is
/// written with its quotes as one literal: a constant needs no escaping.
pub fn write(out: &mut String, command: &Command) {
    match command {
        Command::Set(key, value) => {
            out.push_str("[\"set\",");
            push_key(out, *key);
            out.push(',');
            push_str(out, value);
        }
        Command::Remove(key) => {
            out.push_str("[\"remove\",");
            push_key(out, *key);
        }
        Command::Cookie(c) => {
            out.push_str("[\"cookie\",");
            push_str(out, c);
        }
        Command::Send {
            id,
            mode,
            url,
            body,
        } => {
            write_send_fields(out, *id, *mode, url, body);
        }
        Command::Warn(text) => {
            out.push_str("[\"warn\",");
            push_str(out, text);
        }
        Command::Timer(delay) => {
            out.push_str("[\"timer\"");
            if let Some(d) = delay {
                out.push(',');
                push_u64(out, d.0);
            }
        }
        Command::Read(keys) => {
            out.push_str("[\"read\"");
            for key in keys.iter() {
                out.push(',');
                push_key(out, key);
            }
        }
        Command::Listen => out.push_str("[\"listen\""),
        Command::Trace(hosts) => {
            out.push_str("[\"trace\"");
            for host in crate::text::pieces(hosts, b',') {
                out.push(',');
                push_str(out, host);
            }
        }
        Command::Stop => out.push_str("[\"stop\""),
    }
    out.push_str("],");
}

/// Appends [`Command::Send`] of request `id` as [`write()`] does, from
/// borrowed fields: the tracker writes its requests straight from
/// delivery's list, with no copies and no consuming loop (README "Size").
pub fn write_send(out: &mut String, id: u32, mode: Mode, url: &str, body: &str) {
    write_send_fields(out, id, mode, url, body);
    out.push_str("],");
}

/// `["send",id,"mode","url","body"` (the caller closes it).
fn write_send_fields(out: &mut String, id: u32, mode: Mode, url: &str, body: &str) {
    out.push_str("[\"send\",");
    push_u64(out, u64::from(id));
    out.push(',');
    push_str(out, mode.name());
    out.push(',');
    push_str(out, url);
    out.push(',');
    push_str(out, body);
}

/// Ends the text of [`write()`]'s commands with the input's answer;
/// `session` and `visitor` are the ids as the tracker holds them.
pub fn finish(out: &mut String, answer: Answer, session: &str, visitor: &str) {
    match answer {
        Answer::None => out.push_str("null"),
        Answer::SessionId => push_str(out, session),
        Answer::VisitorId => push_str(out, visitor),
        Answer::Number(n) => push_u64(out, n),
        Answer::Pair(a, b) => {
            out.push('[');
            push_u64(out, a);
            out.push(',');
            push_u64(out, b);
            out.push(']');
        }
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn reply(commands: &[Command], answer: Answer) -> String {
        let mut out = String::from("[");
        for c in commands {
            write(&mut out, c);
        }
        finish(&mut out, answer, "sess_x", "anon_y");
        out
    }

    #[test]
    fn commands_are_one_json_array_ended_by_the_answer() {
        let text = reply(
            &[
                Command::Set(Key::Session, "a\"b".into()),
                Command::Remove(Key::Outbox),
                Command::Send {
                    id: 7,
                    mode: Mode::Beacon,
                    url: "/v1/batch".into(),
                    body: "{\"events\":[]}".into(),
                },
                Command::Timer(Some(Millis(5000))),
                Command::Timer(None),
                Command::Read(Keys::one(Key::Tab).with(Keys::one(Key::Outbox))),
                Command::Trace("a.example,b.example:3000".into()),
                Command::Listen,
            ],
            Answer::SessionId,
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!([
                ["set", "session", "did_session", "a\"b"],
                ["remove", "local", "did_outbox"],
                ["send", 7, "beacon", "/v1/batch", "{\"events\":[]}"],
                ["timer", 5000],
                ["timer"],
                ["read", "session", "did_tab", "local", "did_outbox"],
                ["trace", "a.example", "b.example:3000"],
                ["listen"],
                "sess_x"
            ])
        );
        assert_eq!(reply(&[], Answer::None), "[null]");
        assert_eq!(reply(&[], Answer::VisitorId), "[\"anon_y\"]");
        assert_eq!(reply(&[], Answer::Number(7)), "[7]");
        assert_eq!(reply(&[], Answer::Pair(2, 9)), "[[2,9]]");
    }
}
