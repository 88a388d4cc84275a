// One server event as the collector's bulk route takes it (README "Server
// SDK", wire format): checked and turned into its JSON text when it is
// tracked, so a later change to the caller's objects cannot alter it and a
// retry resends exactly the same bytes under the same event_id.
import { isSessionId, isVisitorId } from './request.js';

/** Longest event name, in UTF-8 bytes (the collector's limit). */
export const MAX_NAME_BYTES = 128;
/** Longest user id, in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 256;
/** Largest `properties` object, as JSON, in UTF-8 bytes. */
export const MAX_PROPERTIES_BYTES = 16 * 1024;

/** UTF-8 length of a string (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** One console warning, prefixed; never throws. */
export function warn(message) {
  try {
    console.warn(`sessionmark/server: ${message}`);
  } catch {
    // a console that throws: nothing more to do
  }
}

/** `o[k]` of an object, else undefined (a throwing getter still throws). */
export function read(o, k) {
  return typeof o === 'object' && o !== null ? o[k] : undefined;
}

/** A short, printable rendering of a value the caller passed, for warnings. */
export function preview(v) {
  let s;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? '[object]' : String(v);
  } catch {
    s = typeof v;
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// JSON.stringify writes a lone surrogate as a \udXXX escape (a valid pair
// stays raw text), and the collector's JSON parser refuses such an escape,
// which would cost the whole request. An escape is real when an even number
// of backslashes precedes its own backslash.
const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/** JSON.stringify with lone surrogates replaced by U+FFFD; throws what it throws. */
function toJson(v) {
  const s = JSON.stringify(v);
  return s !== undefined && s.includes('\\ud') ? s.replace(LONE_SURROGATE, '$1\\ufffd') : s;
}

// Random bytes: Web Crypto where it is global (Node 19+, Deno, Bun,
// workers); Math.random otherwise (Node 18), good enough for ids whose only
// job is to be unique.
function randomBytes(n) {
  const bytes = new Uint8Array(n);
  const c = globalThis.crypto;
  try {
    if (c && typeof c.getRandomValues === 'function') return c.getRandomValues(bytes);
  } catch {
    // fall through
  }
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

const hex = (b) => (b < 16 ? '0' : '') + b.toString(16);

/** A lowercase hyphenated UUIDv7 for `nowMs`: time-ordered, like the tracker's event ids. */
export function newEventId(nowMs) {
  const b = randomBytes(16);
  let t = Math.max(0, Math.floor(nowMs)) || 0;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  let s = '';
  for (let i = 0; i < 16; i++) s += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + hex(b[i]);
  return s;
}

function isPlainObject(v) {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Why a user id is not usable, or null when it is. */
export function userIdProblem(userId) {
  if (typeof userId !== 'string' || userId === '') return `the user id ${preview(userId)} is not a non-empty string`;
  if (utf8Length(userId) > MAX_USER_ID_BYTES) return `the user id is longer than ${MAX_USER_ID_BYTES} bytes`;
  return null;
}

/**
 * Checks one event and writes its JSON. `e`: `{ name, properties,
 * sessionId, visitorId, userId, timestamp }`, already resolved (the
 * explicit session id chosen over the request's; `timestamp` a valid ms
 * time). Returns `{ id, json }`, or `{ refused }` with the reason in words.
 */
export function buildEvent(e) {
  const { name, properties, sessionId, visitorId, userId } = e;
  if (typeof name !== 'string' || name === '') return { refused: `the name ${preview(name)} is not a non-empty string` };
  if (utf8Length(name) > MAX_NAME_BYTES) return { refused: `the name is longer than ${MAX_NAME_BYTES} bytes` };
  if (!isSessionId(sessionId)) return { refused: `the session id ${preview(sessionId)} is not sess_ + a lowercase UUIDv7` };
  let props;
  if (properties !== undefined && properties !== null) {
    if (!isPlainObject(properties)) return { refused: 'properties must be a plain object' };
    try {
      props = toJson(properties);
    } catch (err) {
      return { refused: `its properties cannot be written as JSON (${preview(err && err.message)})` };
    }
    if (utf8Length(props) > MAX_PROPERTIES_BYTES) return { refused: `its properties are larger than ${MAX_PROPERTIES_BYTES} bytes as JSON` };
  }
  if (userId !== undefined) {
    const problem = userIdProblem(userId);
    if (problem) return { refused: problem };
  }
  const timestamp = Math.floor(e.timestamp);
  const id = newEventId(timestamp);
  let json = `{"event_id":"${id}","name":${toJson(name)},"session_id":"${sessionId}","timestamp":${timestamp}`;
  if (isVisitorId(visitorId)) json += `,"anonymous_id":"${visitorId}"`;
  if (userId !== undefined) json += `,"user_id":${toJson(userId)}`;
  if (props !== undefined) json += `,"properties":${props}`;
  return { id, json: json + '}' };
}
