// The dashboard page (/dashboard.html): wires the pickers, the reads of
// the collector's API and the panels. Every value from the collector is
// written as text (textContent), never as HTML.
import './dashboard.css';
import { ApiError, createApi, query } from './api.js';
import { visitsChart } from './chart.js';
import { explorer, sessionsInRange } from './explorer.js';
import { figureCards } from './figures.js';
import { formatCount, formatTime, isoDay } from './format.js';
import { showView, takeLocation } from './location.js';
import { DEFAULT_RANGE, RANGES, resolveRange } from './range.js';
import { topTables } from './tables.js';

/** Live refresh period while the tab is visible. */
export const REFRESH_MS = 10_000;

const $ = (id) => document.getElementById(id);

function start() {
  const { view, key } = takeLocation(window);
  const api = createApi({ getKey: () => key });
  if (!RANGES.some((r) => r.id === view.range)) view.range = DEFAULT_RANGE;

  const els = {
    site: $('site'),
    ranges: $('ranges'),
    custom: $('custom'),
    from: $('from'),
    to: $('to'),
    live: $('live'),
    status: $('status'),
    alert: $('alert'),
    onboarding: $('onboarding'),
    snippet: $('snippet'),
    interval: $('interval'),
  };
  const updateFigures = figureCards($('figures'));
  const updateChart = visitsChart($('chart'), $('chart-empty'), $('chart-at'));
  const updateTables = topTables($('tables'));
  const sessions = explorer(
    api,
    {
      sessions: document.querySelector('#sessions tbody'),
      sessionsEmpty: $('no-sessions'),
      events: document.querySelector('#events tbody'),
      eventsEmpty: $('no-events'),
      eventsTitle: $('events-title'),
    },
    (id) => {
      view.session = id;
      showView(window, view);
      refresh();
    },
  );

  els.snippet.textContent = `<script src="${location.origin}/dist/sessionmark.js" data-client-id="my-site" async></script>`;

  // --- pickers -------------------------------------------------------------
  function showRange() {
    for (const b of els.ranges.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.range === view.range));
    els.custom.hidden = view.range !== 'custom';
  }
  els.ranges.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-range]');
    if (!b) return;
    view.range = b.dataset.range;
    if (view.range === 'custom') {
      // Start from the last 7 days, as whole local days.
      const now = Date.now();
      view.from = view.from || isoDay(now - 6 * 86_400_000);
      view.to = view.to || isoDay(now);
      els.from.value = view.from;
      els.to.value = view.to;
    } else {
      delete view.from;
      delete view.to;
    }
    showRange();
    showView(window, view);
    refresh();
  });
  for (const input of [els.from, els.to]) {
    input.addEventListener('change', () => {
      view.from = els.from.value;
      view.to = els.to.value;
      showView(window, view);
      refresh();
    });
  }
  if (view.range === 'custom') {
    els.from.value = view.from || '';
    els.to.value = view.to || '';
  }
  els.site.addEventListener('change', () => {
    view.site = els.site.value || undefined;
    showView(window, view);
    refresh();
  });
  showRange();

  function showSites(sites) {
    const picked = view.site || '';
    const options = [new Option('All sites', '')];
    for (const s of [...sites].sort((a, b) => (Number(b.events) || 0) - (Number(a.events) || 0))) {
      if (typeof s.client_id !== 'string') continue;
      const label = `${s.client_id || '(no client id)'} · ${formatCount(s.events)} events`;
      options.push(new Option(label, s.client_id));
    }
    // A site named in the URL that has no events (yet) stays selectable.
    if (picked && !options.some((o) => o.value === picked)) options.push(new Option(picked, picked));
    els.site.replaceChildren(...options);
    els.site.value = picked;
  }

  // --- reading and showing ---------------------------------------------------
  function fail(message) {
    els.alert.textContent = message;
    els.alert.hidden = false;
    els.status.textContent = 'not updated';
    els.status.classList.add('error');
  }

  let inFlight = null;
  let again = false;
  let refreshes = 0;

  async function load() {
    const range = resolveRange(view.range, Date.now(), { fromDay: view.from, toDay: view.to });
    if (range.error) throw new ApiError(range.error);
    // The figures and the explorer are read apart, so one failing (an older
    // collector without /v1/metrics, say) leaves the other on screen.
    const figures = (async () => {
      const [metrics, sites] = await Promise.all([
        api.get(`/v1/metrics${query({ client_id: view.site, from: range.from, to: range.to })}`),
        // The site picker is an extra: without /v1/sites the figures still show.
        api.get('/v1/sites').catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
      ]);
      showSites(Array.isArray(sites) ? sites : []);
      updateFigures(metrics);
      updateChart(metrics);
      updateTables(metrics);
      els.interval.textContent = metrics.interval === 'day' ? '(per day)' : '(per hour)';
      els.onboarding.hidden = !(Array.isArray(sites) && sites.length === 0 && !metrics.visits);
    })();
    const explored = (async () => {
      const list = await api.get('/v1/sessions');
      sessions.showSessions(sessionsInRange(list, range.from, range.to), view.session);
      await sessions.showEvents(view.session);
    })();
    const failures = (await Promise.allSettled([figures, explored])).filter((r) => r.status === 'rejected').map((r) => r.reason);
    // A missing key is the one to say first: it is what keeps the rest out.
    const keyed = failures.find((e) => e instanceof ApiError && (e.status === 401 || e.status === 403));
    if (failures.length) throw keyed ?? failures[0];
    els.alert.hidden = true;
    els.status.classList.remove('error');
    els.status.textContent = `updated ${formatTime(Date.now())}`;
  }

  function refresh() {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = load()
      .catch((e) => fail(e instanceof ApiError ? e.message : `the dashboard failed: ${e && e.message ? e.message : e}`))
      .finally(() => {
        inFlight = null;
        document.documentElement.dataset.refreshes = String(++refreshes);
        if (again) {
          again = false;
          refresh();
        }
      });
    return inFlight;
  }

  // --- live refresh: every REFRESH_MS while visible; at once when shown again
  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!els.live.checked || document.hidden) return;
    timer = setTimeout(() => {
      refresh().then(schedule);
    }, REFRESH_MS);
  }
  els.live.addEventListener('change', () => {
    if (els.live.checked) refresh();
    schedule();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) schedule();
    else if (els.live.checked) refresh().then(schedule);
  });

  refresh().then(schedule);
}

start();
