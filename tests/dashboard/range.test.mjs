// The range picker's choices as [from, to) (dashboard/range.js), in a time
// zone with summer time, where a day is not always 24 hours.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const HOUR = 3_600_000;
let range;
before(async () => {
  process.env.TZ = 'America/New_York';
  range = await import('../../dashboard/range.js');
});

describe('dashboard ranges', () => {
  const now = new Date(2026, 2, 10, 15, 30).getTime(); // 10 Mar 2026, 15:30 local

  it('today starts at local midnight and ends now', () => {
    assert.deepEqual(range.resolveRange('today', now), { from: new Date(2026, 2, 10).getTime(), to: now });
  });

  it('7 and 30 days end now (7 days is also the default)', () => {
    assert.deepEqual(range.resolveRange('7d', now), { from: now - 7 * 24 * HOUR, to: now });
    assert.deepEqual(range.resolveRange('30d', now), { from: now - 30 * 24 * HOUR, to: now });
    assert.deepEqual(range.resolveRange('nonsense', now), range.resolveRange('7d', now));
  });

  it('a custom range covers whole local days, its last day included', () => {
    // 8 March 2026 is 23 hours long in New York (clocks go forward).
    const r = range.resolveRange('custom', now, { fromDay: '2026-03-08', toDay: '2026-03-08' });
    assert.deepEqual(r, { from: new Date(2026, 2, 8).getTime(), to: new Date(2026, 2, 9).getTime() });
    assert.equal(r.to - r.from, 23 * HOUR);
  });

  it('a custom range never reaches past now', () => {
    assert.equal(range.resolveRange('custom', now, { fromDay: '2026-03-01', toDay: '2026-03-31' }).to, now);
  });

  it('a custom range that is not one says why', () => {
    assert.match(range.resolveRange('custom', now, { fromDay: '2026-03-09', toDay: '2026-03-01' }).error, /after its last day/);
    assert.match(range.resolveRange('custom', now, { fromDay: '', toDay: '2026-03-01' }).error, /pick both days/);
    assert.match(range.resolveRange('custom', now, { fromDay: '2026-02-31', toDay: '2026-03-01' }).error, /pick both days/);
    assert.match(range.resolveRange('custom', now, { fromDay: '2026-04-01', toDay: '2026-04-02' }).error, /future/);
  });
});
