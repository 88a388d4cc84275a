// The calls a server makes: track, identify, captureError, on the client
// (session id passed per call) or on client.forRequest(req) (the request's
// session; a sessionId passed to a call still wins). Each call resolves the
// session, user and time of its event, has it checked and written
// (event.js), and hands it to the client's queue (client.js). A refused
// event is one console warning and a null return, never an exception.
import { buildEvent, preview, read, userIdProblem, warn } from './event.js';

const LEVELS = ['critical', 'error', 'warning'];

/**
 * The event, or `{ refused }`. `scope`: the request's `{ sessionId,
 * visitorId, userId }`, or undefined on the client itself.
 */
function resolve(name, properties, opts, scope) {
  const explicit = read(opts, 'sessionId');
  if (explicit === undefined && !scope?.sessionId) {
    return { refused: scope ? 'the request has no valid X-Session-ID header or ss_sid cookie' : 'no session id: use client.forRequest(req) or pass { sessionId }' };
  }
  let timestamp = read(opts, 'timestamp');
  if (timestamp instanceof Date) timestamp = timestamp.getTime();
  if (timestamp === undefined) timestamp = Date.now();
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || !(timestamp > 0)) {
    return { refused: `the timestamp ${preview(timestamp)} is not ms since the epoch` };
  }
  return buildEvent({
    name,
    properties,
    sessionId: explicit !== undefined ? explicit : scope.sessionId,
    // The visitor of the request's cookie goes with the request's session only.
    visitorId: explicit === undefined ? scope.visitorId : undefined,
    userId: read(opts, 'userId') ?? scope?.userId,
    timestamp,
  });
}

/** `message`, `stack` and `type` of anything thrown, read defensively and cut to size. */
function describeError(error) {
  const text = (v, max) => (typeof v === 'string' && v !== '' ? v.slice(0, max) : undefined);
  let message;
  let stack;
  let type;
  try {
    message = text(read(error, 'message'), 2000) ?? text(String(error), 2000);
    stack = text(read(error, 'stack'), 8000);
    type = text(read(error, 'name'), 200);
  } catch {
    // a getter or toString that throws: keep what was read
  }
  const out = { message: message ?? 'unknown error' };
  if (stack) out.stack = stack;
  if (type) out.type = type;
  return out;
}

/**
 * track / identify / captureError over `sink` (`refuses(name)`: the client
 * takes nothing now, having said why; `add(name, built)`: queues, returns
 * the event_id). Each returns the event_id, or null when dropped.
 */
export function eventCalls(sink, scope) {
  function record(name, properties, opts) {
    try {
      if (sink.refuses(name)) return null;
      const built = resolve(name, properties, opts, scope);
      if (built.refused) {
        warn(`event ${preview(name)} dropped: ${built.refused}`);
        return null;
      }
      return sink.add(name, built);
    } catch (e) {
      warn(`event ${preview(name)} dropped: ${preview(e && e.message)}`);
      return null;
    }
  }

  return {
    track: (name, properties, opts) => record(name, properties, opts),

    identify(userId, opts) {
      try {
        const problem = userIdProblem(userId);
        if (problem) {
          warn(`event "identify" dropped: ${problem}`);
          return null;
        }
        const id = record('identify', undefined, { ...(typeof opts === 'object' ? opts : {}), userId });
        // The request's later events carry the user too (not when this call named another session).
        if (id && scope && read(opts, 'sessionId') === undefined) scope.userId = userId;
        return id;
      } catch (e) {
        warn(`event "identify" dropped: ${preview(e && e.message)}`);
        return null;
      }
    },

    captureError(error, opts) {
      try {
        const asked = read(opts, 'level');
        let level = 'error';
        if (LEVELS.includes(asked)) level = asked;
        else if (asked !== undefined) warn(`captureError: level ${preview(asked)} is not one of ${LEVELS.join(', ')}; using "error"`);
        const extra = read(opts, 'properties');
        const properties = { ...(typeof extra === 'object' && extra !== null ? extra : {}), ...describeError(error), level };
        return record('error', properties, opts);
      } catch (e) {
        warn(`event "error" dropped: ${preview(e && e.message)}`);
        return null;
      }
    },
  };
}
