// The shop's server client: `createClient` of `sessionmark/server` (README
// "Server SDK"), imported by package name as a site would.
//
// The SDK sends the bulk form of `POST /v1/server-events`. A collector that
// does not take it yet (it answers an empty bulk body with an error) gets a
// stand-in with the same calls (`forRequest(req).track/identify`, `flush`,
// `shutdown`) that posts each event to the single-event form; that form has
// no user id, so its `identify` does nothing.
import { createClient, sessionFromRequest } from 'sessionmark/server';

export async function serverClient(options) {
  if (await takesBulk(options)) return createClient(options);
  console.warn('demo shop: the collector does not take bulk server events; sending them one by one');
  return standIn(options);
}

function authHeaders(key) {
  return { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
}

async function takesBulk({ endpoint, key }) {
  try {
    const res = await fetch(`${endpoint}/v1/server-events`, { method: 'POST', headers: authHeaders(key), body: '{"events":[]}' });
    return res.ok;
  } catch {
    return true; // not up yet: the SDK retries until it is
  }
}

function standIn({ endpoint, key }) {
  const pending = new Set();
  function post(sessionId, name, properties) {
    const p = fetch(`${endpoint}/v1/server-events`, {
      method: 'POST',
      headers: { ...authHeaders(key), 'x-session-id': sessionId },
      body: JSON.stringify({ name, properties }),
    })
      .then(async (res) => {
        if (!res.ok) console.warn(`demo shop: ${name} not recorded: ${res.status} ${await res.text()}`);
      })
      .catch((e) => console.warn(`demo shop: ${name} not recorded: ${e.message}`))
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  const flush = async () => {
    await Promise.all([...pending]);
  };
  return {
    forRequest(req) {
      const { sessionId } = sessionFromRequest(req);
      return {
        track(name, properties) {
          if (!sessionId) return console.warn(`demo shop: ${name} dropped: the request has no valid session id`);
          post(sessionId, name, properties);
        },
        identify() {},
      };
    },
    flush,
    shutdown: flush,
  };
}
