// What the dashboard writes for each kind of figure (dashboard/format.js).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount, formatDecimal, formatDuration, formatMoney, formatPercent, isoDay } from '../../dashboard/format.js';

describe('dashboard formats', () => {
  it('counts are grouped whole numbers', () => {
    assert.equal(formatCount(1234, 'en-US'), '1,234');
    assert.equal(formatCount(0, 'en-US'), '0');
    assert.equal(formatCount(1234567, 'de-DE'), '1.234.567');
  });

  it('rates are percentages with one decimal', () => {
    assert.equal(formatPercent(0.1234, 'en-US'), '12.3%');
    assert.equal(formatPercent(1, 'en-US'), '100.0%');
    assert.equal(formatPercent(0, 'en-US'), '0.0%');
  });

  it('money has two decimals and ratios up to two', () => {
    assert.equal(formatMoney(1234.5, 'en-US'), '1,234.50');
    assert.equal(formatMoney(49.99844, 'en-US'), '50.00');
    assert.equal(formatDecimal(2.345, 'en-US'), '2.35');
    assert.equal(formatDecimal(2, 'en-US'), '2');
  });

  it('durations read as seconds, minutes and hours', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(4_400), '4s');
    assert.equal(formatDuration(59_600), '1m 00s');
    assert.equal(formatDuration(65_000), '1m 05s');
    assert.equal(formatDuration(3_725_000), '1h 02m');
  });

  it('a missing or broken number shows as zero, never NaN', () => {
    for (const bad of [undefined, null, NaN, Infinity, '12']) {
      assert.equal(formatCount(bad, 'en-US'), '0');
      assert.equal(formatPercent(bad, 'en-US'), '0.0%');
      assert.equal(formatDuration(bad), '0s');
    }
  });

  it('a day is written in the local calendar', () => {
    assert.equal(isoDay(new Date(2026, 0, 5, 23, 59).getTime()), '2026-01-05');
  });
});
