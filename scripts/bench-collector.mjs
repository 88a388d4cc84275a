#!/usr/bin/env node
// npm run bench:collector: ingest throughput and answer times of the
// collector, side by side with a baseline build of an earlier commit, on
// loopback, bounded in time. For each concurrency level (1, 16, 64 clients,
// each a keep-alive connection posting batches of 10 events one after the
// other) and each collector: events/s acknowledged, p50/p99 answer time,
// then a zero-loss check (every acknowledged event_id stored exactly once).
// Then a kill -9 of the current collector under load (16 clients), a
// restart on the same database, and the same check.
//
// The load generator shares the machine with the collector, so it is kept
// cheap (its HTTP/1.1 spoken by hand, about 4 ms of CPU per 1000 events):
// its own CPU per 1000 events and the machine's load average before and
// after each row are printed with the figures.
//
// The current collector is measured on SQLite and on ClickHouse (a
// throwaway server of scripts/clickhouse.mjs, a fresh database per row; the
// kill -9 too), unless --no-clickhouse or clickhouse-server is missing. The
// ClickHouse rows' CPU is the collector's plus the ClickHouse server's.
//
// The baseline is built from its commit in a temporary git worktree outside
// the repository (`git worktree add` under the OS temp folder, removed
// afterwards); the binary is kept in .cache/bench-collector/ so later runs
// skip the build (--fresh-baseline rebuilds it).
//
// Options: --seconds=N (per level, collector and round, default 5),
// --rounds=N (default 5: each figure is the median of the rounds; in a
// round the baseline and the current collector run side by side and the
// load takes turns between them in slices of 1 s, so both see the same
// machine; the events/s ratio is the median of the rounds' own ratios),
// --levels=1,16,64,
// --baseline=COMMIT (default e7a21a9), --no-baseline, --fresh-baseline,
// --no-clickhouse.
// Writes dist/bench-collector.json.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { startClickHouse } from './clickhouse.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const opts = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? true];
  }),
);
const SECONDS = Number(opts.seconds ?? 5);
const ROUNDS = Number(opts.rounds ?? 5);
const WARMUP_MS = 500;
// With a baseline, the two collectors take turns in slices this long (the
// first SLICE_WARMUP_MS of each not measured), SECONDS of load each.
const SLICE_MS = 1000;
const SLICE_WARMUP_MS = 100;
const LEVELS = String(opts.levels ?? '1,16,64').split(',').map(Number);
const BASELINE = opts.baseline ?? 'e7a21a9';
const BATCH = 10;
// A session rotates after this many batches, as a long visit would.
const BATCHES_PER_SESSION = 100;
const KILL_AFTER_MS = 2000;
// The whole run is bounded: past this, everything is stopped.
const RUN_LIMIT_MS = 15 * 60 * 1000;

const children = new Set();
const tempDirs = new Set();
function cleanUp() {
  for (const c of children) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
setTimeout(() => {
  console.error(`bench:collector: over ${RUN_LIMIT_MS / 60000} min, stopping`);
  process.exit(1);
}, RUN_LIMIT_MS).unref();

const log = (...a) => console.error(...a);

function run(cmd, args, env = {}, cwd = repo) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
}

function revParse(rev) {
  return execFileSync('git', ['rev-parse', '--short', rev], { cwd: repo, encoding: 'utf8' }).trim();
}

/** The current collector, built from the working tree. */
function buildCurrent() {
  log('bench:collector: cargo build --release -p sessionmark-collector');
  run('cargo', ['build', '--release', '-p', 'sessionmark-collector']);
  return join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'release', 'sessionmark-collector');
}

/** The baseline collector of `rev`, built in a temporary worktree once. */
function buildBaseline(rev) {
  const commit = revParse(rev);
  const cache = join(repo, '.cache', 'bench-collector');
  const bin = join(cache, `sessionmark-collector-${commit}`);
  if (existsSync(bin) && !opts['fresh-baseline']) return { bin, commit, built: false };
  mkdirSync(cache, { recursive: true });
  const tree = mkdtempSync(join(tmpdir(), `sessionmark-baseline-${commit}-`));
  rmSync(tree, { recursive: true, force: true });
  log(`bench:collector: building the baseline ${commit} in ${tree} (a few minutes)`);
  run('git', ['worktree', 'add', '--detach', tree, commit]);
  try {
    // A target folder of its own, kept: a later --fresh-baseline is quicker.
    const target = join(cache, 'baseline-target');
    run('cargo', ['build', '--release', '-p', 'sessionmark-collector'], { CARGO_TARGET_DIR: target }, tree);
    copyFileSync(join(target, 'release', 'sessionmark-collector'), bin);
  } finally {
    run('git', ['worktree', 'remove', '--force', tree]);
  }
  return { bin, commit, built: true };
}

/** Starts a collector on a free port with `db` (or the `store` URL); resolves with its URL. */
function startCollector(bin, db, store = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        SESSIONMARK_DB: db,
        SESSIONMARK_STORE: store,
        // Every client of the bench is one loopback address: the per-client
        // quotas of ingest would measure themselves, not the store.
        SESSIONMARK_RATE_REQUESTS_PER_SEC: '1000000000',
        SESSIONMARK_RATE_REQUESTS_BURST: '1000000000',
        SESSIONMARK_RATE_KIB_PER_SEC: '1000000000',
        SESSIONMARK_RATE_KIB_BURST: '1000000000',
        SESSIONMARK_WWW: join(repo, 'www'),
        SESSIONMARK_DIST: join(repo, 'dist'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let out = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => (out += d));
    child.stdout.setEncoding('utf8');
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${out}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /sessionmark collector listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code ?? signal}):\n${out}`));
    });
  }).then(({ child, url }) => {
    child.removeAllListeners('exit');
    child.once('exit', () => children.delete(child));
    return { child, url };
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A UUIDv7 of now, as the tracker mints its session and event ids. */
function uuidV7() {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Event ids: UUIDv7 of the batch's time, unique by a counter after a random
// run prefix. Cheap on purpose: the client shares the collector's two cores,
// and what it spends the collector cannot. A batch's ids are consecutive, so
// an acknowledged batch is kept as its time and first counter (two numbers,
// not ten strings for the garbage collector to trace) and its ids are
// written again for the check.
const RUN = randomBytes(4).toString('hex');
const ID_MIDDLE = `-7${RUN.slice(0, 3)}-8${RUN.slice(3, 6)}-${RUN.slice(6, 8)}`;
let counter = 0;
/** What the ids minted at `ms` begin with. */
function idPrefix(ms) {
  const msHex = ms.toString(16).padStart(12, '0');
  return `${msHex.slice(0, 8)}-${msHex.slice(8, 12)}${ID_MIDDLE}`;
}
const eventId = (prefix, n) => prefix + n.toString(16).padStart(10, '0');

/** The event ids of the acknowledged batches of one session ([ms, first counter, ...]). */
function* batchIds(batches) {
  for (let b = 0; b < batches.length; b += 2) {
    const prefix = idPrefix(batches[b]);
    for (let i = 0; i < BATCH; i++) yield eventId(prefix, batches[b + 1] + i);
  }
}

/**
 * One keep-alive connection of the load, spoken by hand: a request is one
 * prebuilt write, an answer is read by its Content-Length. Node's http
 * client cost about 15 ms of CPU per 1000 events here, as much as the
 * collector it measures, on the same two cores; this costs a fraction.
 */
class Connection {
  constructor(url) {
    const { hostname, port } = new URL(url);
    this.head = `POST /v1/batch HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: text/plain;charset=UTF-8\r\n`;
    this.socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
    this.buffer = Buffer.alloc(0);
    this.waiting = null;
    this.socket.on('data', (d) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
      this.answer();
    });
    const fail = () => this.finish({ status: 0, text: '' });
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  /** POSTs `body` to /v1/batch; resolves with { status, text } (status 0: no answer). */
  post(body) {
    if (this.socket.destroyed) return Promise.resolve({ status: 0, text: '' });
    return new Promise((resolve) => {
      this.waiting = resolve;
      // The bodies are ASCII: latin1 writes them byte for byte, without
      // UTF-8 encoding's cost.
      this.socket.write(`${this.head}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    });
  }

  answer() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      // Every answer of /v1/batch has a length; anything else ends the client.
      this.socket.destroy();
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    const status = Number(head.slice(9, 12));
    const text = this.buffer.toString('utf8', end + 4, total);
    this.buffer = this.buffer.subarray(total);
    this.finish({ status, text });
  }

  finish(result) {
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(result);
  }

  close() {
    this.socket.destroy();
  }
}

/**
 * `clients` loops posting batches to `url` until `until()` is false (or a
 * request fails with no answer). Returns per-session acknowledged ids and
 * the answer times of requests started after `measureFrom`.
 */
async function load(url, clients, { until, measureFrom = 0n, stopOnError = false }) {
  const acked = new Map(); // session id -> [ms, first counter] of each acknowledged batch
  const times = [];
  const statuses = {};
  let ackedEvents = 0;
  let measuredEvents = 0;
  async function client() {
    let connection = new Connection(url);
    const visitor = `anon_${randomUUID()}`;
    let session = null;
    let sessionBatches = null;
    // What every event of the session repeats, written once.
    let middle = '';
    for (let n = 0; until(); n++) {
      if (n % BATCHES_PER_SESSION === 0) {
        session = `sess_${uuidV7()}`;
        sessionBatches = [];
        acked.set(session, sessionBatches);
        middle = `","session_id":"${session}","anonymous_id":"${visitor}","timestamp":`;
      }
      const now = Date.now();
      const prefix = idPrefix(now);
      const first = counter + 1;
      counter += BATCH;
      const pageFields = `,"path":"/products/${n % 50}","title":"A product page of the bench shop","referrer":"https://search.example/?q=bench","client_id":"bench","page_count":${n + 1},"properties":{"i":`;
      // The fields a tracker sends, written as its hand-made encoder does.
      let body = '{"events":[';
      for (let i = 0; i < BATCH; i++) {
        body +=
          `${i === 0 ? '' : ','}{"event_id":"${eventId(prefix, first + i)}","name":"${i === 0 ? 'screen_view' : 'click'}` +
          `${middle}${now + i}${pageFields}${i},"plan":"pro"}}`;
      }
      body += ']}';
      const t0 = process.hrtime.bigint();
      const { status, text } = await connection.post(body);
      const t1 = process.hrtime.bigint();
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) {
        const a = JSON.parse(text);
        if (a.accepted + a.duplicates !== BATCH) throw new Error(`answer does not add up: ${text}`);
        sessionBatches.push(now, first);
        ackedEvents += BATCH;
        if (t0 >= measureFrom) {
          times.push(Number(t1 - t0) / 1e6);
          measuredEvents += BATCH;
        }
      } else if (status === 0) {
        connection.close();
        if (stopOnError) return;
        connection = new Connection(url);
      }
    }
    connection.close();
  }
  await Promise.all(Array.from({ length: clients }, client));
  return { acked, times, statuses, ackedEvents, measuredEvents };
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${url}: ${res.statusCode} ${text}`));
          resolve({ body: JSON.parse(text), next: res.headers['x-next-cursor'] });
        });
      })
      .on('error', reject);
  });
}

/** Every acknowledged id stored exactly once? Reads each session back. */
async function checkStored(url, acked) {
  let ackedCount = 0;
  let missing = 0;
  let twice = 0;
  let stored = 0;
  for (const [session, batches] of acked) {
    const ids = [...batchIds(batches)];
    const seen = new Map();
    let cursor = null;
    do {
      const q = `session_id=${session}&limit=5000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { body, next } = await getJson(`${url}/v1/events?${q}`);
      for (const e of body) seen.set(e.event_id, (seen.get(e.event_id) ?? 0) + 1);
      cursor = next;
    } while (cursor);
    ackedCount += ids.length;
    for (const id of ids) {
      const n = seen.get(id) ?? 0;
      if (n === 0) missing++;
      if (n > 1) twice++;
    }
    for (const n of seen.values()) stored += n;
  }
  return { acked: ackedCount, stored, missing, twice };
}

/** CPU time (user + system, ms) a process used so far, from /proc. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** `clickhouse://host:port/DB` for a fresh database of the bench's server. */
function clickHouseStore(ch) {
  return `clickhouse://${new URL(ch.url).host}/bench_${process.pid}_${Date.now()}`;
}

async function measure(bin, clients, ch = null) {
  const dir = mkdtempSync(join(tmpdir(), 'sessionmark-bench-collector-'));
  tempDirs.add(dir);
  const { child, url } = await startCollector(bin, join(dir, 'bench.db'), ch ? clickHouseStore(ch) : '');
  // Where the work is done: the collector, and the ClickHouse server behind it.
  const cpuOf = () => cpuMs(child.pid) + (ch ? cpuMs(ch.pid) : 0);
  try {
    const start = process.hrtime.bigint();
    const measureFrom = start + BigInt(WARMUP_MS) * 1_000_000n;
    const end = measureFrom + BigInt(SECONDS * 1000) * 1_000_000n;
    let cpuFrom = NaN;
    let ownFrom = null;
    const loadFrom = loadavg()[0];
    setTimeout(() => {
      cpuFrom = cpuOf();
      ownFrom = process.cpuUsage();
    }, WARMUP_MS);
    const r = await load(url, clients, { until: () => process.hrtime.bigint() < end, measureFrom });
    const cpu = cpuOf() - cpuFrom;
    const own = process.cpuUsage(ownFrom);
    const seconds = Number(process.hrtime.bigint() - measureFrom) / 1e9;
    const times = r.times.sort((a, b) => a - b);
    const check = await checkStored(url, r.acked);
    return {
      clients,
      events_per_s: Math.round(r.measuredEvents / seconds),
      p50_ms: +quantile(times, 0.5).toFixed(2),
      p99_ms: +quantile(times, 0.99).toFixed(2),
      requests: times.length,
      // The collector's own CPU per 1000 events: what the figures cost it,
      // whatever else the machine was doing.
      cpu_ms_per_1000: +((cpu / r.measuredEvents) * 1000).toFixed(1),
      // The load generator's own CPU (it shares the machine's cores).
      load_cpu_ms_per_1000: +(((own.user + own.system) / 1000 / r.measuredEvents) * 1000).toFixed(1),
      // The machine's 1-minute load average before and after the row.
      load_average: [+loadFrom.toFixed(2), +loadavg()[0].toFixed(2)],
      statuses: r.statuses,
      ...check,
    };
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/**
 * Both collectors of `bins` at once, each on a database of its own, the
 * load taking turns between them in slices of SLICE_MS (the order of each
 * pair of slices alternating), SECONDS of load each: whatever else the
 * machine does in those seconds falls on both alike. Returns one result
 * per collector, shaped as measure()'s.
 */
async function measureInterleaved(bins, clients) {
  const dir = mkdtempSync(join(tmpdir(), 'sessionmark-bench-collector-'));
  tempDirs.add(dir);
  const started = [];
  try {
    for (const [i, bin] of bins.entries()) started.push(await startCollector(bin, join(dir, `bench-${i}.db`)));
    const totals = started.map(() => ({
      acked: new Map(),
      times: [],
      statuses: {},
      measuredEvents: 0,
      seconds: 0,
      cpu: 0,
      own: 0,
      loadFrom: loadavg()[0],
    }));
    const slices = Math.max(1, Math.round((SECONDS * 1000) / SLICE_MS));
    for (let slice = 0; slice < slices; slice++) {
      const order = slice % 2 === 0 ? started.keys() : [...started.keys()].reverse();
      for (const i of order) {
        const { child, url } = started[i];
        const t = totals[i];
        const start = process.hrtime.bigint();
        // Each slice opens its connections anew: their first requests are
        // not measured.
        const measureFrom = start + BigInt(SLICE_WARMUP_MS) * 1_000_000n;
        const end = start + BigInt(SLICE_MS) * 1_000_000n;
        let cpuFrom = NaN;
        let ownFrom = null;
        const warm = setTimeout(() => {
          cpuFrom = cpuMs(child.pid);
          ownFrom = process.cpuUsage();
        }, SLICE_WARMUP_MS);
        const r = await load(url, clients, { until: () => process.hrtime.bigint() < end, measureFrom });
        clearTimeout(warm);
        if (ownFrom === null) continue;
        t.cpu += cpuMs(child.pid) - cpuFrom;
        const own = process.cpuUsage(ownFrom);
        t.own += (own.user + own.system) / 1000;
        t.seconds += Number(process.hrtime.bigint() - measureFrom) / 1e9;
        t.measuredEvents += r.measuredEvents;
        for (const time of r.times) t.times.push(time);
        for (const [session, batches] of r.acked) t.acked.set(session, batches);
        for (const [status, n] of Object.entries(r.statuses)) t.statuses[status] = (t.statuses[status] ?? 0) + n;
      }
    }
    const results = [];
    for (const [i, { url }] of started.entries()) {
      const t = totals[i];
      const times = t.times.sort((a, b) => a - b);
      const check = await checkStored(url, t.acked);
      results.push({
        clients,
        events_per_s: Math.round(t.measuredEvents / t.seconds),
        p50_ms: +quantile(times, 0.5).toFixed(2),
        p99_ms: +quantile(times, 0.99).toFixed(2),
        requests: times.length,
        cpu_ms_per_1000: +((t.cpu / t.measuredEvents) * 1000).toFixed(1),
        load_cpu_ms_per_1000: +((t.own / t.measuredEvents) * 1000).toFixed(1),
        load_average: [+t.loadFrom.toFixed(2), +loadavg()[0].toFixed(2)],
        statuses: t.statuses,
        ...check,
      });
    }
    return results;
  } finally {
    for (const { child } of started) await stop(child);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

async function killUnderLoad(bin, ch = null) {
  const dir = mkdtempSync(join(tmpdir(), 'sessionmark-bench-kill-'));
  tempDirs.add(dir);
  const db = join(dir, 'bench.db');
  const store = ch ? clickHouseStore(ch) : '';
  const first = await startCollector(bin, db, store);
  let killed = false;
  const running = load(first.url, 16, { until: () => !killed, stopOnError: true });
  await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  killed = true;
  const r = await running;
  const again = await startCollector(bin, db, store);
  try {
    const check = await checkStored(again.url, r.acked);
    return { clients: 16, killed_after_ms: KILL_AFTER_MS, unanswered: r.statuses[0] ?? 0, ...check };
  } finally {
    await stop(again.child);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

const current = buildCurrent();
const baseline = opts['no-baseline'] ? null : buildBaseline(BASELINE);
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`;
log(`bench:collector: ${machine}; ${SECONDS} s per level after ${WARMUP_MS} ms of warm-up; batches of ${BATCH} events`);

/** The middle value of each figure over the rounds; losses are summed. */
function median(runs) {
  const mid = (key) => {
    const v = runs.map((r) => r[key]).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  const sum = (key) => runs.reduce((n, r) => n + r[key], 0);
  return {
    clients: runs[0].clients,
    rounds: runs.length,
    events_per_s: mid('events_per_s'),
    p50_ms: mid('p50_ms'),
    p99_ms: mid('p99_ms'),
    cpu_ms_per_1000: mid('cpu_ms_per_1000'),
    load_cpu_ms_per_1000: mid('load_cpu_ms_per_1000'),
    load_average: [
      Math.min(...runs.flatMap((r) => r.load_average)),
      Math.max(...runs.flatMap((r) => r.load_average)),
    ],
    acked: sum('acked'),
    stored: sum('stored'),
    missing: sum('missing'),
    twice: sum('twice'),
    runs,
  };
}

let clickHouse = null;
if (!opts['no-clickhouse']) {
  try {
    clickHouse = await startClickHouse();
    process.on('exit', () => {
      try {
        process.kill(clickHouse.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      rmSync(clickHouse.dir, { recursive: true, force: true });
    });
    log(`bench:collector: ClickHouse at ${clickHouse.url}`);
  } catch (e) {
    log(`bench:collector: no ClickHouse rows (${e.message.split('\n')[0]})`);
  }
}

const rows = [];
for (const clients of LEVELS) {
  // The other work on the machine comes and goes within seconds, so with
  // a baseline the two collectors run at once and the load takes turns
  // between them second by second (measureInterleaved); each round's ratio
  // is of those two, and the row's ratio is the median of the rounds'.
  // Each figure is the median of its rounds.
  const runs = { baseline: [], current: [], clickhouse: [] };
  for (let round = 0; round < ROUNDS; round++) {
    if (baseline) {
      const [b, c] = await measureInterleaved([baseline.bin, current], clients);
      log(`  baseline ${baseline.commit}, ${clients} clients, round ${round + 1}: ${JSON.stringify(b)}`);
      log(`  current, ${clients} clients, round ${round + 1}: ${JSON.stringify(c)}`);
      runs.baseline.push(b);
      runs.current.push(c);
    } else {
      const r = await measure(current, clients);
      log(`  current, ${clients} clients, round ${round + 1}: ${JSON.stringify(r)}`);
      runs.current.push(r);
    }
    if (clickHouse) {
      const r = await measure(current, clients, clickHouse);
      log(`  current on ClickHouse, ${clients} clients, round ${round + 1}: ${JSON.stringify(r)}`);
      runs.clickhouse.push(r);
    }
  }
  const ratios = baseline
    ? runs.current.map((c, i) => +(c.events_per_s / runs.baseline[i].events_per_s).toFixed(2)).sort((a, b) => a - b)
    : [];
  rows.push({
    clients,
    // Each round's current / baseline events/s, sorted; the row's ratio is their median.
    ratios,
    ratio: baseline ? ratios[Math.floor(ratios.length / 2)] : null,
    baseline: baseline ? median(runs.baseline) : null,
    current: median(runs.current),
    clickhouse: clickHouse ? median(runs.clickhouse) : null,
  });
}
const kill = await killUnderLoad(current);
log(`  kill -9 under load: ${JSON.stringify(kill)}`);
const clickHouseKill = clickHouse ? await killUnderLoad(current, clickHouse) : null;
if (clickHouseKill) log(`  kill -9 under load on ClickHouse: ${JSON.stringify(clickHouseKill)}`);

const lossFree = (m) => m.missing === 0 && m.twice === 0 && m.stored === m.acked;
const cell = (m) =>
  `${m.events_per_s} ev/s, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms, ${m.cpu_ms_per_1000} CPU ms/1000 ev${lossFree(m) ? '' : ' LOSS'}`;
const loads = rows.flatMap((r) => [r.baseline, r.current, r.clickhouse].filter(Boolean).flatMap((m) => m.load_average));
console.log(
  `\ncollector ingest, ${machine}, loopback, batches of ${BATCH}, medians of ${ROUNDS} rounds of ${SECONDS} s, ` +
    `load average ${Math.min(...loads)}-${Math.max(...loads)}`,
);
console.log(
  `| clients | baseline ${baseline?.commit ?? '-'} | current (SQLite) | events/s ratio (median of the rounds', all rounds') | p99 ratio | current on ClickHouse | ClickHouse / SQLite events/s | load average | load generator CPU/1000 ev |`,
);
console.log('|---:|---|---|---:|---:|---|---:|---|---:|');
for (const r of rows) {
  const ratio = r.baseline ? `${r.ratio.toFixed(1)}x (${r.ratios.map((x) => x.toFixed(1)).join(', ')})` : '-';
  const p99 = r.baseline ? (r.current.p99_ms / r.baseline.p99_ms).toFixed(2) : '-';
  const ch = r.clickhouse ? cell(r.clickhouse) : '-';
  const chRatio = r.clickhouse ? (r.clickhouse.events_per_s / r.current.events_per_s).toFixed(2) + 'x' : '-';
  const ms = [r.baseline, r.current, r.clickhouse].filter(Boolean);
  const rowLoads = ms.flatMap((m) => m.load_average);
  const loadRange = `${Math.min(...rowLoads)}-${Math.max(...rowLoads)}`;
  console.log(
    `| ${r.clients} | ${r.baseline ? cell(r.baseline) : '-'} | ${cell(r.current)} | ${ratio} | ${p99} | ${ch} | ${chRatio} | ${loadRange} | ${r.current.load_cpu_ms_per_1000} ms |`,
  );
}
const killLine = (k, on) =>
  `kill -9 after ${k.killed_after_ms} ms of load (16 clients) on ${on}: ${k.acked} events acknowledged, ` +
  `${k.missing} missing, ${k.twice} stored twice, ${k.unanswered} requests unanswered at the kill`;
console.log(killLine(kill, 'SQLite'));
if (clickHouseKill) console.log(killLine(clickHouseKill, 'ClickHouse'));
const allLossFree = rows.every(
  (r) => lossFree(r.current) && (!r.baseline || lossFree(r.baseline)) && (!r.clickhouse || lossFree(r.clickhouse)),
);
const killClean = (k) => !k || (k.missing === 0 && k.twice === 0);
const killOk = killClean(kill) && killClean(clickHouseKill);
console.log(allLossFree && killOk ? 'zero loss: every acknowledged event_id stored exactly once' : 'LOSS FOUND');

mkdirSync(join(repo, 'dist'), { recursive: true });
writeFileSync(
  join(repo, 'dist', 'bench-collector.json'),
  JSON.stringify(
    { machine, seconds: SECONDS, rounds: ROUNDS, batch: BATCH, baseline: baseline?.commit ?? null, rows, kill, clickhouse_kill: clickHouseKill },
    null,
    2,
  ),
);
process.exitCode = allLossFree && killOk ? 0 : 1;
// The ClickHouse server's pipes would keep this process alive.
await clickHouse?.stop();
