// The headline figures: one card per figure of `GET /v1/metrics`, in the
// order a site owner reads them (traffic, then engagement, then sales).
import { formatCount, formatDecimal, formatDuration, formatMoney, formatPercent } from './format.js';

/**
 * `key`: the field of the metrics answer; `format(value, locale)` what the
 * card shows; `hint`: the definition (the card's tooltip), as the README
 * defines the figure.
 */
export const FIGURES = [
  { key: 'visits', label: 'Visits', format: formatCount, hint: 'Sessions that started in the range' },
  { key: 'unique_visitors', label: 'Unique visitors', format: formatCount, hint: 'Distinct users (user id, else visitor id)' },
  { key: 'pageviews', label: 'Page views', format: formatCount, hint: 'screen_view events' },
  { key: 'pages_per_visit', label: 'Pages per visit', format: formatDecimal, hint: 'Page views / visits' },
  { key: 'bounce_rate', label: 'Bounce rate', format: formatPercent, hint: 'Visits with one page view and no other browser event' },
  { key: 'avg_visit_ms', label: 'Avg visit time', format: formatDuration, hint: 'First to last event of a visit, averaged' },
  { key: 'avg_engaged_ms', label: 'Avg engaged time', format: formatDuration, hint: 'Time visible and focused per visit, averaged' },
  { key: 'visitors_now', label: 'Visitors now', format: formatCount, hint: 'Sessions with an event in the last 5 minutes' },
  { key: 'conversions', label: 'Conversions', format: formatCount, hint: 'Visits with a goal event (purchase)' },
  { key: 'conversion_rate', label: 'Conversion rate', format: formatPercent, hint: 'Conversions / visits' },
  { key: 'revenue', label: 'Revenue', format: formatMoney, hint: 'Sum of the goal events\' amount' },
  { key: 'average_order_value', label: 'Avg order value', format: formatMoney, hint: 'Revenue / goal events' },
];

/** Builds the cards once, inside `root`; returns `update(metrics)`. */
export function figureCards(root, doc = document) {
  const values = new Map();
  for (const f of FIGURES) {
    const card = doc.createElement('div');
    card.className = 'figure';
    card.dataset.figure = f.key;
    card.title = f.hint;
    const label = doc.createElement('div');
    label.className = 'figure-label';
    label.textContent = f.label;
    const value = doc.createElement('div');
    value.className = 'figure-value';
    value.textContent = '—';
    card.append(label, value);
    root.append(card);
    values.set(f.key, value);
  }
  return function update(metrics) {
    for (const f of FIGURES) {
      const v = metrics ? metrics[f.key] : undefined;
      values.get(f.key).textContent = typeof v === 'number' ? f.format(v) : '—';
    }
  };
}
