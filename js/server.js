// sessionmark/server: the server side of sessionmark (README "Server SDK").
//   js/server/request.js  sessionFromRequest: the browser session of a request
//   js/server/client.js   createClient: server events in that session, in bulk
// Plain ES modules, no dependencies, nothing Node-only at load time: they run
// on Node 18+, Deno, Bun and workers. Types: js/server.d.ts.
export {
  SESSION_HEADER,
  SESSION_COOKIE,
  VISITOR_COOKIE,
  isSessionId,
  isVisitorId,
  sessionFromRequest,
} from './server/request.js';
export { createClient } from './server/client.js';
