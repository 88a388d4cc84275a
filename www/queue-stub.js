// Runs BEFORE the tracker script, like the snippet a site pastes to call the
// API before sessionmark.js has loaded: calls are queued on
// window.sessionmark.q as arrays [method, ...args] and replayed in order once
// the tracker starts.
//
// What the end-to-end test checks:
//   - localStorage `did` is preloaded with a valid visitor id; the queued
//     `clear` must replace it (so the queue ran at all);
//   - `track` is queued after `clear`, so its event must carry the NEW visitor
//     id: had the calls run out of order, it would carry the preloaded one.
(function () {
  'use strict';
  var PRELOADED_VISITOR_ID = 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7';
  try {
    localStorage.setItem('did', PRELOADED_VISITOR_ID);
  } catch (e) {
    // storage blocked: the test will say so
  }
  var sm = (window.sessionmark = window.sessionmark || {});
  sm.q = sm.q || [];
  sm.q.push(['clear']);
  sm.q.push(['track', 'queued_after_clear', { step: 2 }]);
  sm.q.push(['getSessionId']);
  window.__queueStub = {
    preloadedVisitorId: PRELOADED_VISITOR_ID,
    queued: sm.q.map(function (call) {
      return call[0];
    }),
  };
})();
