//! The core's reply text read back into typed commands, the way the shim
//! reads it (`js/wasm.js`): `[` before it, then one JSON array whose last
//! element is the answer and whose others are the commands
//! (`sessionmark::command`). The core writes the text as it goes and keeps
//! no list of commands (README "Size"); the fake shell works on this one.

use super::PageShell;
use serde_json::Value;
use sessionmark::command::{Answer, Command, Mode};
use sessionmark::store::{Key, Keys};
use sessionmark::time::Millis;
use sessionmark::tracker::Tracker;

/// The commands of the inputs so far (their answer dropped).
pub fn poll_commands(tracker: &mut Tracker, now: Millis) -> Vec<Command> {
    decode(&tracker.poll_commands(now, Answer::None)).0
}

impl PageShell {
    /// The commands of this page's inputs so far, not carried out.
    pub fn poll_commands(&mut self, now: Millis) -> Vec<Command> {
        poll_commands(&mut self.tracker, now)
    }
}

/// A reply's commands and its answer.
pub fn decode(text: &str) -> (Vec<Command>, Value) {
    let mut all: Vec<Value> =
        serde_json::from_str(&format!("[{text}")).unwrap_or_else(|e| panic!("{e}: {text}"));
    let answer = all.pop().expect("a reply ends with its answer");
    (all.iter().map(command).collect(), answer)
}

fn key(area: &Value, name: &Value) -> Key {
    *Key::ALL
        .iter()
        .find(|k| k.area().name() == area && k.name() == name)
        .unwrap_or_else(|| panic!("unknown key {area} {name}"))
}

fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_owned()
}

fn command(c: &Value) -> Command {
    let c = c.as_array().expect("a command is an array");
    match c[0].as_str().expect("a command starts with its name") {
        "set" => Command::Set(key(&c[1], &c[2]), text(&c[3])),
        "remove" => Command::Remove(key(&c[1], &c[2])),
        "cookie" => Command::Cookie(text(&c[1])),
        "send" => Command::Send {
            id: u32::try_from(c[1].as_u64().expect("a request id")).unwrap(),
            mode: *[Mode::Fetch, Mode::Keepalive, Mode::Beacon]
                .iter()
                .find(|m| m.name() == c[2])
                .expect("a known mode"),
            url: text(&c[3]),
            body: text(&c[4]),
        },
        "warn" => Command::Warn(text(&c[1])),
        "timer" => Command::Timer(c.get(1).map(|ms| Millis(ms.as_u64().expect("ms")))),
        "read" => Command::Read(c[1..].chunks(2).fold(Keys::NONE, |keys, k| {
            keys.with(Keys::one(key(&k[0], &k[1])))
        })),
        "listen" => Command::Listen,
        "trace" => Command::Trace(c[1..].iter().map(text).collect::<Vec<_>>().join(",")),
        "stop" => Command::Stop,
        other => panic!("unknown command {other}"),
    }
}
