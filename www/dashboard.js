// The dashboard (dashboard.html): the sessions the collector stored and the
// events of the one picked. Every value from the collector is written with
// textContent, never as HTML.
//
// The URL fragment carries `key=READ_KEY` (taken once into sessionStorage and
// removed from the address bar: a fragment is never sent to a server, but it
// stays in the history) and `session=ID` (the picked session, kept across
// reloads). Any fragment is accepted: a malformed one is ignored.
'use strict';

const REFRESH_MS = 3000;
const KEY_STORAGE = 'sessionmark_dashboard_key';
const statusEl = document.getElementById('status');
const sessionsBody = document.querySelector('#sessions tbody');
const eventsBody = document.querySelector('#events tbody');
const noSessions = document.getElementById('no-sessions');
const noEvents = document.getElementById('no-events');
const eventsTitle = document.getElementById('events-title');
const auto = document.getElementById('auto');

// Fields shown in their own columns; any other field is listed with the properties.
const SHOWN = new Set(['event_id', 'name', 'session_id', 'anonymous_id', 'timestamp', 'path',
  'title', 'referrer', 'client_id', 'properties']);

/** The fragment's fields. URLSearchParams never throws, whatever the text. */
function fragmentFields() {
  const text = location.hash.slice(1);
  // The fragment of older links: the session id alone.
  if (text && !text.includes('=')) return { session: text };
  const params = new URLSearchParams(text);
  return { key: params.get('key'), session: params.get('session') };
}

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null; // storage refused: the key lives in memory only
  }
}

function storeKey(key) {
  try {
    sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // storage refused: the key lives in memory only
  }
}

const fromUrl = fragmentFields();
let readKey = fromUrl.key || storedKey();
if (fromUrl.key) storeKey(fromUrl.key);
let picked = fromUrl.session || null;
writeFragment();

/** The fragment without the key: only the picked session. */
function writeFragment() {
  const hash = picked ? '#session=' + encodeURIComponent(picked) : '';
  history.replaceState(null, '', location.pathname + location.search + hash);
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (className) td.className = className;
  return td;
}

function time(ms) {
  const d = new Date(Number(ms));
  return isNaN(d.getTime()) ? String(ms) : d.toLocaleString();
}

async function getJson(url) {
  const headers = readKey ? { Authorization: 'Bearer ' + readKey } : {};
  const res = await fetch(url, { cache: 'no-store', headers });
  if (res.status === 401) {
    throw new Error('the collector needs its read key: open this page as dashboard.html#key=READ_KEY');
  }
  if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
  return res.json();
}

function renderSessions(list) {
  const rows = [];
  for (const s of list) {
    const tr = document.createElement('tr');
    if (s.session_id === picked) tr.className = 'picked';
    const id = cell('', 'mono');
    id.appendChild(document.createTextNode(s.session_id));
    id.appendChild(document.createElement('br'));
    const visitor = document.createElement('small');
    visitor.textContent = s.anonymous_id;
    id.appendChild(visitor);
    tr.append(id, cell(time(s.last_seen)), cell(s.event_count, 'num'));
    tr.title = 'first seen ' + time(s.first_seen);
    tr.addEventListener('click', () => pick(s.session_id));
    rows.push(tr);
  }
  sessionsBody.replaceChildren(...rows);
  noSessions.hidden = list.length > 0;
}

// Properties as compact JSON, then any other field (page_count, engaged_time, ...) as k=v.
function details(e) {
  const parts = [];
  const props = e.properties && typeof e.properties === 'object' ? e.properties : {};
  if (Object.keys(props).length) parts.push(JSON.stringify(props));
  const extra = [];
  for (const [k, v] of Object.entries(e)) {
    if (!SHOWN.has(k)) extra.push(k + '=' + (typeof v === 'string' ? v : JSON.stringify(v)));
  }
  if (extra.length) parts.push(extra.join(' · '));
  return parts.join('\n');
}

function renderEvents(list) {
  const rows = [];
  for (const e of list) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    const pre = document.createElement('pre');
    pre.className = 'mono';
    pre.textContent = details(e);
    td.appendChild(pre);
    tr.append(cell(time(e.timestamp)), cell(e.name), cell(e.path, 'mono'), td);
    tr.title = e.event_id + (e.title ? ' — ' + e.title : '');
    rows.push(tr);
  }
  eventsBody.replaceChildren(...rows);
  noEvents.hidden = list.length > 0;
  noEvents.textContent = picked ? 'No events stored for this session.' : 'Pick a session to see its events.';
}

async function refresh() {
  try {
    const sessions = await getJson('/v1/sessions');
    renderSessions(sessions);
    if (picked) {
      eventsTitle.textContent = 'Events of ' + picked;
      renderEvents(await getJson('/v1/events?session_id=' + encodeURIComponent(picked)));
    } else {
      eventsTitle.textContent = 'Events';
      renderEvents([]);
    }
    statusEl.className = '';
    statusEl.textContent = sessions.length + ' sessions · updated ' + new Date().toLocaleTimeString();
  } catch (err) {
    statusEl.className = 'error';
    statusEl.textContent = 'refresh failed: ' + (err && err.message ? err.message : String(err));
  }
}

function pick(id) {
  picked = id;
  writeFragment();
  refresh();
}

// A link followed to another fragment (or one edited by hand) is read again.
window.addEventListener('hashchange', () => {
  const fields = fragmentFields();
  if (fields.key) {
    readKey = fields.key;
    storeKey(fields.key);
  }
  picked = fields.session || null;
  writeFragment();
  refresh();
});

let timer = null;
function schedule() {
  clearInterval(timer);
  timer = auto.checked ? setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS) : null;
}
auto.addEventListener('change', schedule);
refresh();
schedule();
