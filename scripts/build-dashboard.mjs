#!/usr/bin/env node
// Bundles the dashboard page (README "Dashboard"): dashboard/main.js and
// what it imports (uPlot and its CSS included) → www/assets/dashboard.js and
// www/assets/dashboard.css, which www/dashboard.html loads as files (no
// inline script or style: the pages run under a CSP without 'unsafe-inline').
// www/assets/ is build output (not committed). About a second; npm start and
// npm test run it.
//
//   node scripts/build-dashboard.mjs [--sizes]   --sizes: print what uPlot adds
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'www', 'assets');
mkdirSync(outDir, { recursive: true });

const result = await esbuild.build({
  entryPoints: [join(root, 'dashboard', 'main.js')],
  outfile: join(outDir, 'dashboard.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
});
if (result.errors.length) process.exit(1);

const sizeOf = (file) => {
  const buf = readFileSync(file);
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, brotli: brotliCompressSync(buf).length };
};
const out = ['dashboard.js', 'dashboard.css'].map((f) => [f, sizeOf(join(outDir, f))]);
console.log(
  `build-dashboard: ${out.map(([f, s]) => `${relative(root, join(outDir, f))} ${s.raw} B (${s.brotli} B brotli)`).join(', ')}`,
);
if (process.argv.includes('--sizes')) {
  // Bytes of the minified bundle that come from each input, uPlot apart.
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    let uplot = 0;
    let own = 0;
    for (const [input, { bytesInOutput }] of Object.entries(info.inputs)) {
      if (input.includes('node_modules/uplot/')) uplot += bytesInOutput;
      else own += bytesInOutput;
    }
    console.log(`  ${relative(root, file)}: uPlot ${uplot} B, the dashboard's own ${own} B (minified, before compression)`);
  }
}
