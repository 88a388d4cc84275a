#!/usr/bin/env node
// Builds the demo's single-page app (demo/spa/) the way a site would: the
// package is packed (`npm pack`), installed from the tarball into a fresh
// temporary project, and bundled there by Vite, which resolves
// `import ... from 'sessionmark'` to the installed copy. The output goes to
// .cache/spa/ (or --out DIR), which the demo shop serves at /spa/.
// Needs the tracker built (npm run build). Quiet: one line, or the error.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--out');
const outDir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, '.cache', 'spa');
const vite = join(root, 'node_modules', '.bin', 'vite');

function die(msg) {
  console.error(`build-spa: ${msg}`);
  process.exit(1);
}
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

if (!existsSync(join(root, 'dist', 'sessionmark.mjs'))) die('dist/sessionmark.mjs is missing: run npm run build first');
if (!existsSync(vite)) die('node_modules/.bin/vite is missing: run scripts/setup.sh');

const work = mkdtempSync(join(tmpdir(), 'sessionmark-spa-'));
try {
  // --ignore-scripts: dist/ is built (checked above); prepack would build it again.
  const tarball = run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], root).trim().split('\n').pop();
  cpSync(join(root, 'demo', 'spa'), work, { recursive: true });
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({ name: 'sessionmark-demo-app', private: true, type: 'module', dependencies: { sessionmark: `file:./${tarball}` } }, null, 2),
  );
  // The tarball has no dependencies: this install needs no network.
  run('npm', ['install', '--offline', '--silent', '--no-audit', '--no-fund', '--no-package-lock'], work);
  rmSync(outDir, { recursive: true, force: true });
  run(vite, ['build', '--base', '/spa/', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], work);
} finally {
  rmSync(work, { recursive: true, force: true });
}

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push([relative(outDir, p), statSync(p).size]);
  }
};
walk(outDir);
console.log(`build-spa: ${relative(root, outDir) || outDir}/ ${files.map(([f, n]) => `${f} ${n} B`).join(', ')}`);
