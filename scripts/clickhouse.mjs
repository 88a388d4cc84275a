// A throwaway ClickHouse server for tests: a fresh temporary data folder, a
// free HTTP port on loopback, every other listening port left to the kernel
// (port 0), its logs in the data folder. Nothing of it outlives its stop().
//
// From Node (the e2e harness):
//   import { startClickHouse } from '../../scripts/clickhouse.mjs';
//   const ch = await startClickHouse();   // { url: 'http://127.0.0.1:PORT', dir, stop() }
//
// From anything else (scripts/test.sh, the Rust tests' helper):
//   node scripts/clickhouse.mjs serve
// prints `clickhouse listening on http://127.0.0.1:PORT` once the server
// answers `Ok.`, and stops it (and removes its folder) when its standard
// input closes or it gets SIGINT/SIGTERM/SIGHUP. A parent that dies closes
// that input, so the server never outlives the tests that started it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const serverBin = process.env.SESSIONMARK_CLICKHOUSE_SERVER || 'clickhouse-server';
export const serverConfig = '/etc/clickhouse-server/config.xml';
export const READY_LINE = 'clickhouse listening on';

const START_TIMEOUT_MS = 30_000;
const ATTEMPTS = 3;

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** A port that was free a moment ago (the kernel's pick for port 0). */
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

async function answersOk(url) {
  try {
    const res = await fetch(url + '/', { signal: AbortSignal.timeout(1_000) });
    return res.ok && (await res.text()).trim() === 'Ok.';
  } catch {
    return false;
  }
}

/** One start on one port: resolves when `/` answers `Ok.`, rejects if the server exits first. */
async function startOnce(dir, port) {
  // Every path the stock config points at /var is moved into `dir`, so
  // parallel runs share nothing; interserver and native ports are 0 (the
  // kernel picks free ones), only HTTP is used.
  const args = [
    `--config-file=${serverConfig}`,
    '--',
    `--path=${dir}/data/`,
    `--tmp_path=${dir}/tmp/`,
    `--user_files_path=${dir}/user_files/`,
    `--format_schema_path=${dir}/format_schemas/`,
    `--logger.log=${dir}/clickhouse-server.log`,
    `--logger.errorlog=${dir}/clickhouse-server.err.log`,
    '--logger.level=warning',
    '--listen_host=127.0.0.1',
    `--http_port=${port}`,
    '--tcp_port=0',
    '--interserver_http_port=0',
  ];
  // setpriv --pdeathsig: the kernel kills the server if this process dies
  // without running its exit hooks. setpriv execs, so the pid is the server's.
  const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', serverBin, ...args]] : [serverBin, args];
  const child = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    output = (output + chunk).slice(-16_000);
  });
  const spawnFailed = new Promise((res) => child.once('error', (e) => res(e)));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'clickhouse-server.err.log'), 'utf8').slice(-4_000);
      } catch {
        // no log yet
      }
      const e = new Error(`clickhouse-server exited (${child.exitCode ?? child.signalCode}) before answering on ${url}:\n${output}${log}`);
      e.exitedEarly = true;
      throw e;
    }
    const failed = await Promise.race([spawnFailed, new Promise((r) => setTimeout(() => r(null), 100))]);
    if (failed) throw new Error(`cannot run ${serverBin}: ${failed.message} (run scripts/setup.sh: apt-get install clickhouse-server clickhouse-client)`);
    if (await answersOk(url)) return { child, url };
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`clickhouse-server did not answer Ok. on ${url} within ${START_TIMEOUT_MS} ms:\n${output}`);
    }
  }
}

/**
 * Starts a ClickHouse server on a free loopback port with a fresh data folder.
 * `stop()` kills it (the data is disposable) and removes the folder;
 * `exited` resolves when the server process ends, however it ends.
 * @returns {Promise<{ url: string, dir: string, pid: number, stop: () => Promise<void>, exited: Promise<void> }>}
 */
export async function startClickHouse() {
  const dir = mkdtempSync(join(tmpdir(), 'sessionmark-clickhouse-'));
  let last;
  // The port was free when picked; another process may take it before the
  // server binds it, and then the server exits at once: pick another.
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      const { child, url } = await startOnce(dir, await freePort());
      const stop = async () => {
        const gone = exited(child);
        child.kill('SIGKILL');
        await gone;
        rmSync(dir, { recursive: true, force: true });
      };
      return { url, dir, pid: child.pid, stop, exited: exited(child) };
    } catch (e) {
      last = e;
      if (!e.exitedEarly) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw last;
}

async function serve() {
  let ch;
  try {
    ch = await startClickHouse();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    await ch.stop();
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => stop(0));
  // A server that dies on its own ends this helper too, so whoever waits on
  // it sees the failure instead of a helper serving nothing.
  ch.exited.then(() => {
    if (stopping) return;
    process.stderr.write('clickhouse-server exited on its own\n');
    stop(1);
  });
  process.stdin.on('end', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();
  process.stdout.write(`${READY_LINE} ${ch.url}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === 'serve') {
    await serve();
  } else {
    process.stderr.write('usage: node scripts/clickhouse.mjs serve\n');
    process.exit(2);
  }
}
