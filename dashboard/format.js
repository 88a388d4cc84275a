// How the dashboard writes numbers, durations, money and dates. Pure
// functions: the tests call them to know what the page must show.
// `locale` undefined means the viewer's own (the browser's default), and
// dates are always in the viewer's time zone.

const cache = new Map();
function numberFormat(locale, options) {
  const k = `${locale ?? ''}|${JSON.stringify(options)}`;
  let f = cache.get(k);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    cache.set(k, f);
  }
  return f;
}

const finite = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);

/** A whole count with grouping: 1234 → "1,234". */
export function formatCount(n, locale) {
  return numberFormat(locale, { maximumFractionDigits: 0 }).format(Math.round(finite(n)));
}

/** A ratio with up to two decimals: 2.345 → "2.35", 2 → "2". */
export function formatDecimal(x, locale) {
  return numberFormat(locale, { maximumFractionDigits: 2 }).format(finite(x));
}

/** A fraction 0..1 as a percentage with one decimal: 0.1234 → "12.3%". */
export function formatPercent(fraction, locale) {
  return numberFormat(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(finite(fraction));
}

/** Money in the site's own unit, two decimals: 1234.5 → "1,234.50". */
export function formatMoney(x, locale) {
  return numberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(finite(x));
}

const pad2 = (n) => String(n).padStart(2, '0');

/**
 * Milliseconds as a duration, rounded to the second:
 * 4000 → "4s", 65000 → "1m 05s", 3725000 → "1h 02m" (seconds dropped past an hour).
 */
export function formatDuration(ms) {
  const total = Math.max(0, Math.round(finite(ms) / 1000));
  if (total < 60) return `${total}s`;
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  if (h === 0) return `${m}m ${pad2(s)}s`;
  return `${h}h ${pad2(m)}m`;
}

/** A moment (ms since epoch) as a local date and time: "Mar 4, 2026, 2:05 PM". */
export function formatDateTime(ms, locale) {
  const d = new Date(finite(ms));
  return d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A moment as a local time with seconds: "2:05:09 PM" (timelines, "updated at"). */
export function formatTime(ms, locale) {
  return new Date(finite(ms)).toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
}

/** A local calendar day as the value of an `<input type="date">`: "2026-03-04". */
export function isoDay(ms) {
  const d = new Date(finite(ms));
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}
