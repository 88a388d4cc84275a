// The session explorer: the latest sessions of the range, and one
// session's timeline (every stored event in order, server events marked).
import { query } from './api.js';
import { formatCount, formatDateTime, formatDuration, formatTime } from './format.js';

const MAX_SESSIONS = 50;
const MAX_EVENT_PAGES = 5;
// Event fields that have their own column; others are listed as details.
const SHOWN = new Set(['event_id', 'name', 'session_id', 'anonymous_id', 'timestamp', 'path', 'title', 'referrer', 'client_id', 'properties', 'source']);

/** True for an event the site's backend recorded (README "Server events"). */
export const isServerEvent = (e) => e.source === 'server';

/** Sessions active in [from, to), most recent first, at most `max`. */
export function sessionsInRange(sessions, from, to, max = MAX_SESSIONS) {
  return (Array.isArray(sessions) ? sessions : [])
    .filter((s) => Number(s.last_seen) >= from && Number(s.first_seen) < to)
    .sort((a, b) => Number(b.last_seen) - Number(a.last_seen))
    .slice(0, max);
}

/** Properties as compact JSON, then the other fields (page_count, engaged_time, ...) as k=v. */
export function eventDetails(e) {
  const parts = [];
  const props = e.properties && typeof e.properties === 'object' ? e.properties : {};
  if (Object.keys(props).length) parts.push(JSON.stringify(props));
  const extra = [];
  for (const [k, v] of Object.entries(e)) if (!SHOWN.has(k)) extra.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (extra.length) parts.push(extra.join(' · '));
  return parts.join('\n');
}

function cell(doc, text, className) {
  const td = doc.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (className) td.className = className;
  return td;
}

/**
 * `els`: { sessions, sessionsEmpty, events, eventsEmpty, eventsTitle } (the
 * tbody elements and their empty notes). `onPick(id)` is called when a
 * session row is chosen. Returns { showSessions(list, picked), showEvents(id) }.
 */
export function explorer(api, els, onPick, doc = document) {
  function showSessions(list, picked) {
    els.sessions.replaceChildren(
      ...list.map((s) => {
        const tr = doc.createElement('tr');
        tr.dataset.session = s.session_id;
        tr.tabIndex = 0;
        if (s.session_id === picked) tr.className = 'picked';
        const id = cell(doc, '', 'mono');
        const strong = doc.createElement('span');
        strong.textContent = s.session_id;
        const visitor = doc.createElement('small');
        visitor.textContent = s.anonymous_id ?? '';
        id.append(strong, doc.createElement('br'), visitor);
        tr.append(
          cell(doc, formatDateTime(s.first_seen)),
          cell(doc, formatDuration(Number(s.last_seen) - Number(s.first_seen)), 'num'),
          cell(doc, formatCount(s.event_count), 'num'),
          id,
        );
        tr.addEventListener('click', () => onPick(s.session_id));
        tr.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            onPick(s.session_id);
          }
        });
        return tr;
      }),
    );
    els.sessionsEmpty.hidden = list.length > 0;
  }

  async function loadEvents(id) {
    let events = [];
    let cursor = null;
    for (let page = 0; page < MAX_EVENT_PAGES; page++) {
      const res = await api.getPage(`/v1/events${query({ session_id: id, cursor })}`);
      if (Array.isArray(res.body)) events = events.concat(res.body);
      cursor = res.next;
      if (!cursor) break;
    }
    return { events, more: Boolean(cursor) };
  }

  async function showEvents(id) {
    if (!id) {
      els.eventsTitle.textContent = 'Timeline';
      els.events.replaceChildren();
      els.eventsEmpty.textContent = 'Pick a session to see its timeline.';
      els.eventsEmpty.hidden = false;
      return;
    }
    const { events, more } = await loadEvents(id);
    events.sort((a, b) => Number(a.timestamp) - Number(b.timestamp));
    els.eventsTitle.textContent = `Timeline of ${id}${more ? ` (first ${events.length} events)` : ''}`;
    const start = events.length ? Number(events[0].timestamp) : 0;
    els.events.replaceChildren(
      ...events.map((e) => {
        const tr = doc.createElement('tr');
        const server = isServerEvent(e);
        if (server) tr.className = 'server';
        const name = cell(doc, '');
        const label = doc.createElement('span');
        label.textContent = e.name;
        name.append(label);
        if (server) {
          const badge = doc.createElement('span');
          badge.className = 'badge';
          badge.textContent = 'server';
          name.append(' ', badge);
        }
        const td = doc.createElement('td');
        const pre = doc.createElement('pre');
        pre.className = 'mono';
        pre.textContent = eventDetails(e);
        td.append(pre);
        tr.append(cell(doc, formatTime(e.timestamp)), cell(doc, `+${formatDuration(Number(e.timestamp) - start)}`, 'num'), name, cell(doc, e.path, 'mono'), td);
        tr.title = `${e.event_id}${e.title ? ` — ${e.title}` : ''}`;
        return tr;
      }),
    );
    els.eventsEmpty.textContent = 'No events stored for this session.';
    els.eventsEmpty.hidden = events.length > 0;
  }

  return { showSessions, showEvents };
}
