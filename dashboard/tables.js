// The four top-10 tables of `GET /v1/metrics`: each row a value (a path or
// a referring host) and its count, with a bar scaled to the table's largest.
import { formatCount } from './format.js';

export const TABLES = [
  { key: 'top_pages', title: 'Top pages', column: 'Page', empty: 'No page views in this range.' },
  { key: 'entry_pages', title: 'Entry pages', column: 'Page', empty: 'No visits in this range.' },
  { key: 'exit_pages', title: 'Exit pages', column: 'Page', empty: 'No visits in this range.' },
  { key: 'referrers', title: 'Referrers', column: 'Source', empty: 'No visits in this range.' },
];

/** Builds the four tables inside `root`; returns `update(metrics)`. */
export function topTables(root, doc = document) {
  const bodies = new Map();
  for (const t of TABLES) {
    const section = doc.createElement('section');
    section.className = 'panel top';
    const h = doc.createElement('h2');
    h.textContent = t.title;
    const table = doc.createElement('table');
    table.dataset.table = t.key;
    const head = doc.createElement('thead');
    const hr = doc.createElement('tr');
    const th1 = doc.createElement('th');
    th1.textContent = t.column;
    const th2 = doc.createElement('th');
    th2.className = 'num';
    th2.textContent = t.key === 'top_pages' ? 'Views' : 'Visits';
    hr.append(th1, th2);
    head.append(hr);
    const body = doc.createElement('tbody');
    table.append(head, body);
    const empty = doc.createElement('p');
    empty.className = 'empty';
    empty.textContent = t.empty;
    section.append(h, table, empty);
    root.append(section);
    bodies.set(t.key, { body, empty });
  }
  return function update(metrics) {
    for (const t of TABLES) {
      const rows = metrics && Array.isArray(metrics[t.key]) ? metrics[t.key].slice(0, 10) : [];
      const { body, empty } = bodies.get(t.key);
      const max = rows.reduce((m, r) => Math.max(m, Number(r.count) || 0), 0);
      body.replaceChildren(
        ...rows.map((r) => {
          const tr = doc.createElement('tr');
          const value = doc.createElement('td');
          value.className = 'value';
          const text = doc.createElement('span');
          text.className = 'label';
          text.textContent = String(r.value ?? '');
          text.title = String(r.value ?? '');
          // The bar is CSSOM (element.style), which a CSP without
          // 'unsafe-inline' allows; a style="" attribute it would not.
          const bar = doc.createElement('span');
          bar.className = 'meter';
          bar.style.width = `${max ? Math.round(((Number(r.count) || 0) / max) * 100) : 0}%`;
          value.append(bar, text);
          const count = doc.createElement('td');
          count.className = 'num count';
          count.textContent = formatCount(r.count);
          tr.append(value, count);
          return tr;
        }),
      );
      empty.hidden = rows.length > 0;
    }
  };
}
