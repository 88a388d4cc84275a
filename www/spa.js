// The tiny SPA of www/spa.html, also loaded by www/long.html and
// www/away.html for its probes. On a page with <body data-app="spa"> the
// buttons #to-N navigate with history.pushState to ?p=N (the title set
// first, as a router does) and back/forward re-render from the URL.
// What tests read:
//   window.spa.token     random, set once per document: the same value after
//                        "back" means the document was restored from the
//                        back/forward cache, not loaded again;
//   window.spa.pageshows one { persisted } per pageshow event;
//   window.spa.scrolls   scroll events seen.
// No unload listener anywhere: it would keep the page out of the
// back/forward cache.
(function () {
  'use strict';
  var isSpa = document.body.dataset.app === 'spa';
  var spa = (window.spa = {
    token: Math.random().toString(36).slice(2),
    pageshows: [],
    scrolls: 0,
  });

  function current() {
    var p = Number(new URLSearchParams(location.search).get('p'));
    return p >= 1 ? p : 1;
  }

  function render() {
    var n = current();
    document.title = 'SPA page ' + n;
    document.getElementById('heading').textContent = 'SPA page ' + n;
  }

  function go(n) {
    document.title = 'SPA page ' + n;
    history.pushState({ p: n }, '', n === 1 ? location.pathname : location.pathname + '?p=' + n);
    render();
  }

  if (isSpa) {
    for (var n = 1; n <= 3; n++) document.getElementById('to-' + n).addEventListener('click', go.bind(null, n));
    addEventListener('popstate', render);
    render();
  }
  addEventListener('pageshow', function (e) {
    spa.pageshows.push({ persisted: e.persisted });
  });
  addEventListener('scroll', function () {
    spa.scrolls++;
  });
})();
