// Visits and visitors over time (`series` of `GET /v1/metrics`), drawn by
// uPlot: a canvas time-series chart, ~50 KB minified with no dependencies,
// made for exactly this (README "Dashboard" says why it was picked). Its
// time axis is in the viewer's local time zone.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatCount, formatDateTime } from './format.js';

const HEIGHT = 240;
const DAY_S = 86_400;
const COLORS = { visits: '#1a5fd0', visitors: '#e07b12' };

/** Columns of uPlot's data: times in seconds, then one array per line. */
export function chartData(series) {
  const rows = Array.isArray(series) ? series : [];
  return [
    rows.map((r) => Number(r.t) / 1000),
    rows.map((r) => Number(r.visits) || 0),
    rows.map((r) => Number(r.visitors) || 0),
  ];
}

/** The hovered bucket, as the chart's caption says it: its day, or its hour. */
export function bucketLabel(seconds, interval) {
  const d = new Date(seconds * 1000);
  return interval === 'day' ? d.toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' }) : formatDateTime(d.getTime());
}

const count = (u, v) => (v == null ? '' : formatCount(v));

function options(width, interval, caption) {
  const axis = { stroke: '#5f6b7a', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#d8dce3' } };
  const x = { ...axis };
  if (interval === 'day') {
    // Whole days only: a tick per day (or per 2, 7 ... when they crowd).
    x.incrs = [DAY_S, 2 * DAY_S, 7 * DAY_S, 14 * DAY_S, 30 * DAY_S];
    x.values = (u, vals) => vals.map((v) => new Date(v * 1000).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }));
  }
  return {
    width,
    height: HEIGHT,
    padding: [12, 28, 0, 0],
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
    axes: [x, { ...axis, values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? formatCount(v) : '')) }],
    series: [
      { label: 'Time' },
      { label: 'Visits', stroke: COLORS.visits, fill: 'rgba(26,95,208,0.08)', width: 2, points: { size: 5 }, value: count },
      { label: 'Visitors', stroke: COLORS.visitors, width: 2, dash: [6, 4], points: { size: 5 }, value: count },
    ],
    hooks: {
      setLegend: [
        (u) => {
          const i = u.legend.idx;
          caption.textContent = i == null || u.data[0][i] == null ? '' : bucketLabel(u.data[0][i], interval);
        },
      ],
    },
  };
}

/**
 * Builds the chart inside `root`; `empty` is shown instead when the range
 * has no bucket, `caption` names the bucket under the cursor. Returns
 * `update(metrics)`.
 */
export function visitsChart(root, empty, caption) {
  let plot = null;
  let plotInterval = null;

  const width = () => Math.max(280, Math.floor(root.clientWidth || 600));
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(() => {
      if (plot && Math.abs(plot.width - width()) > 2) plot.setSize({ width: width(), height: HEIGHT });
    }).observe(root);
  }

  return function update(metrics) {
    const data = chartData(metrics && metrics.series);
    const interval = metrics && metrics.interval === 'day' ? 'day' : 'hour';
    const hasData = data[0].length > 0;
    empty.hidden = hasData;
    root.hidden = !hasData;
    if (!hasData) return;
    // The axis ticks depend on the interval, fixed when a uPlot is made.
    if (plot && plotInterval !== interval) {
      plot.destroy();
      plot = null;
    }
    if (!plot) {
      plot = new uPlot(options(width(), interval, caption), data, root);
      plotInterval = interval;
    } else plot.setData(data);
  };
}
