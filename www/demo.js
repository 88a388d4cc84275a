// Live view of the tracker's state for the demo pages. No inline scripts: the
// pages run under `script-src 'self' 'wasm-unsafe-eval'`.
//
// Reads the API from window[data-api] (default `sessionmark`, the script-tag
// global; esm.html sets `sm`, which esm-demo.js fills from the ES module).
(function () {
  'use strict';
  var me = document.currentScript;
  var apiName = (me && me.getAttribute('data-api')) || 'sessionmark';
  var REFRESH_MS = 500;

  function api() {
    var a = window[apiName];
    return a && typeof a.getSessionId === 'function' ? a : null;
  }

  function $(id) {
    return document.getElementById(id);
  }

  function show(id, text) {
    var el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function status(text, isError) {
    var el = $('status');
    if (!el) return;
    el.textContent = text;
    el.className = isError ? 'error' : '';
  }

  function render() {
    var a = api();
    if (!a) {
      status('waiting for the tracker to load…', false);
      return;
    }
    try {
      show('session-id', String(a.getSessionId()));
      show('visitor-id', String(a.getAnonymousId()));
      var t = a.getTracker() || {};
      var start = Number(t.sessionStartTime);
      show('session-start', start > 0 ? new Date(start).toISOString() : '—');
      show('page-count', t.pageCount === undefined ? '—' : String(t.pageCount));
      if (typeof a.getEngagedTimeSeconds === 'function' && $('engaged')) {
        show('engaged', String(a.getEngagedTimeSeconds()) + ' s');
      }
      status('live (refreshes every ' + REFRESH_MS + ' ms)', false);
    } catch (e) {
      status('tracker error: ' + (e && e.message ? e.message : String(e)), true);
    }
  }

  function onClick(id, fn) {
    var el = $(id);
    if (!el) return;
    el.addEventListener('click', function () {
      var a = api();
      if (!a) return;
      try {
        fn(a);
      } catch (e) {
        status('tracker error: ' + (e && e.message ? e.message : String(e)), true);
      }
      render();
    });
  }

  function start() {
    onClick('clear', function (a) {
      a.clear();
    });
    onClick('track', function (a) {
      if (typeof a.track === 'function') a.track('demo_click', { button: 'track' });
    });
    onClick('flush', function (a) {
      if (typeof a.flush === 'function') {
        Promise.resolve(a.flush()).then(render, function () {});
      }
    });
    render();
    setInterval(render, REFRESH_MS);
    ['focus', 'pageshow', 'popstate', 'storage', 'pointerdown', 'keydown'].forEach(function (type) {
      window.addEventListener(type, render);
    });
    document.addEventListener('visibilitychange', render);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
