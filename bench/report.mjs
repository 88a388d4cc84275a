// Statistics and the bench's tables, printed as text and written as Markdown.

export const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
export const minOf = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.min(...v) : null;
};
export const maxOf = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : null;
};

export const f0 = (x) => (x == null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
export const f1 = (x) => (x == null ? 'n/a' : x.toFixed(1));
export const f2 = (x) => (x == null ? 'n/a' : x.toFixed(2));
export const kb = (bytes) => (bytes == null ? 'n/a' : (bytes / 1024).toFixed(0));

/** `value / ours` as "4.25x"; "n/a" when either is missing or not above zero (a difference of medians can be). */
export function times(value, ours) {
  if (value == null || ours == null || !(value > 0) || !(ours > 0)) return 'n/a';
  return `${(value / ours).toFixed(2)}x`;
}

/** A figure with its ratio to sessionmark's: "102,457 (4.25x)"; `valid: false` marks it as not compared. */
export function cell(text, value, ours, { valid = true } = {}) {
  if (!valid) return `${text} (n/c)`;
  return `${text} (${times(value, ours)})`;
}

/** A table: `{ title, head, rows, align?, notes? }`. */
export function textTable({ title, head, rows, align, notes = [] }) {
  const w = head.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (r) =>
    r.map((c, i) => ((align ? align[i] : i ? 'r' : 'l') === 'l' ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ').trimEnd();
  return [title, fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt), ...notes.map((n) => `   ${n}`)].join('\n');
}

export function markdownTable({ title, head, rows, align, notes = [] }) {
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  const sep = head.map((_, i) => ((align ? align[i] : i ? 'r' : 'l') === 'l' ? '---' : '---:'));
  return [
    `### ${title}`,
    '',
    `| ${head.map(esc).join(' | ')} |`,
    `| ${sep.join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
