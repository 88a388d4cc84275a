// The shop's server client: `createClient` of `sessionmark/server` (README
// "Server SDK"), imported by package name as a site would.
//
// Until a build of the package without `createClient` is gone, a stand-in
// with the same calls (`forRequest(req).track/identify`, `flush`,
// `shutdown`) posts each event on its own to the single-event form of
// `POST /v1/server-events`; it cannot link a user (that form has no user
// id), so `identify` is a no-op there.
import * as sdk from 'sessionmark/server';

export async function serverClient(options) {
  if (typeof sdk.createClient === 'function') return sdk.createClient(options);
  return standIn(options);
}

function standIn({ endpoint, key }) {
  const pending = new Set();
  const headers = (sessionId) => ({
    'content-type': 'application/json',
    'x-session-id': sessionId,
    ...(key ? { authorization: `Bearer ${key}` } : {}),
  });
  function post(sessionId, name, properties) {
    const p = fetch(`${endpoint}/v1/server-events`, { method: 'POST', headers: headers(sessionId), body: JSON.stringify({ name, properties }) })
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
      const { sessionId } = sdk.sessionFromRequest(req);
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
