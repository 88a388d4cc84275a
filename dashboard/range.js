// The range picker's choices as [from, to) in ms since epoch, in the
// viewer's local calendar. Pure: `now` is an argument.

const DAY_MS = 24 * 60 * 60 * 1000;

/** The choices of the picker, in order. */
export const RANGES = [
  { id: 'today', label: 'Today' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
  { id: 'custom', label: 'Custom' },
];

export const DEFAULT_RANGE = '7d';

/** Local midnight that starts the day of `ms`. */
export function startOfDay(ms) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** An `<input type="date">` value ("2026-03-04") as its local midnight, or null. */
export function parseDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof text === 'string' ? text : '');
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(y, mo - 1, d);
  // Date rolls 2026-02-31 over to March: such a day does not exist.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return date.getTime();
}

/** The day after local midnight `dayStart` (23, 24 or 25 hours later). */
function nextDay(dayStart) {
  const d = new Date(dayStart);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}

/**
 * `{ from, to }` of a choice, or `{ error }` for a custom range that is not
 * one. A custom range covers whole local days, `toDay` included, and never
 * reaches past now.
 */
export function resolveRange(id, now, { fromDay, toDay } = {}) {
  switch (id) {
    case 'today':
      return { from: startOfDay(now), to: now };
    case '30d':
      return { from: now - 30 * DAY_MS, to: now };
    case 'custom': {
      const from = parseDay(fromDay);
      const last = parseDay(toDay);
      if (from === null || last === null) return { error: 'pick both days of the custom range' };
      if (from > last) return { error: 'the first day of the range is after its last day' };
      if (from > now) return { error: 'the range starts in the future' };
      return { from, to: Math.min(nextDay(last), now) };
    }
    default:
      return { from: now - 7 * DAY_MS, to: now };
  }
}
