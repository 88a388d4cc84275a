#!/usr/bin/env node
// npm run bench:metrics: the metrics queries' answer times on 1,000,000
// stored events (collector/examples/bench_metrics.rs does the seeding and
// the timing), on SQLite, then on a throwaway ClickHouse of
// scripts/clickhouse.mjs (seeded anew each run, removed after) unless
// --no-clickhouse or clickhouse-server is missing. Other options
// (--events=N, --fresh) go to the example.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClickHouse } from './clickhouse.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const passed = args.filter((a) => a !== '--no-clickhouse');

function example(extra) {
  const cargo = ['run', '--quiet', '--release', '-p', 'sessionmark-collector', '--example', 'bench_metrics', '--'];
  const r = spawnSync('cargo', [...cargo, ...passed, ...extra], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

example([]);
if (!args.includes('--no-clickhouse')) {
  let ch;
  try {
    ch = await startClickHouse();
  } catch (e) {
    console.log(`bench:metrics: no ClickHouse run (${e.message.split('\n')[0]})`);
  }
  if (ch) {
    try {
      example([`--store=${ch.url.replace('http://', 'clickhouse://')}/bench_metrics`]);
    } finally {
      await ch.stop();
    }
  }
}
