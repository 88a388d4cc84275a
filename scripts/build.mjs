#!/usr/bin/env node
// Builds the browser tracker:
//   cargo (wasm32, release) → wasm-bindgen --target web → wasm-opt -Oz
//   → esbuild: js/script.js → dist/sessionmark.js  (IIFE, the script tag)
//              js/index.js  → dist/sessionmark.mjs (ESM, the npm import)
//   → terser (a second minifying of each bundle's JS)
// Both bundles inline the optimized wasm through the virtual module
// `sessionmark:wasm` (default export: a string, one character per byte,
// U+0000..U+00FF), so one request loads everything and the shim can
// compile it synchronously without fetching (and without a CSP connect-src for the wasm).
// Measured on a 26.8 KB wasm, brotli of the inlined form: base64 15.2 KB,
// hex 12.35 KB, this Latin-1 literal 11.6 KB (raw wasm 11.3 KB): one char
// per byte keeps the bytes aligned, so brotli finds the wasm's repeats.
// The literal has non-ASCII characters, so each bundle starts with a UTF-8
// byte order mark: a BOM decides a script's encoding before any HTTP
// charset or page encoding does, so a server without `charset=utf-8`
// cannot garble it. esbuild would escape the characters (\xNN, +1 KB), so
// it and terser see a placeholder that is replaced after both.
//
// Flags:
//   --profile s|z     cargo opt-level for the wasm (default z, from Cargo.toml)
//   --no-wasm-opt     skip wasm-opt (to measure what it buys)
//   --js-dir DIR      where script.js / index.js / index.d.ts live (default js/)
//   --out-dir DIR     where the bundles go (default dist/)
//   --no-budget       report the size budget but do not fail on it
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zc, brotliCompressSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { minify } from 'terser';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The budget for what a page downloads: the script tag bundle, brotli.
const BUDGET_BROTLI = 16384;
// The ratchet: the build fails above this (the measured size plus a little),
// so size cannot grow unnoticed while the goal above is not met yet. Lower it
// whenever the bundle shrinks.
const CEILING_BROTLI = 17020;
const PLACEHOLDER = '__SESSIONMARK_WASM__';

/**
 * The bytes as a JS template literal, one character per byte (one UTF-8
 * byte for 0..127, two for 128..255), the bytes as they are: the shim turns
 * the text back into bytes natively (`btoa`, then `Uint8Array.fromBase64`),
 * which takes them unchanged (README "Size" says what that costs). A
 * template literal, not a quoted string: a raw line feed and `"` need no
 * escape there (only `` ` ``, `\`, a carriage return, which would read as a
 * line feed, and `$` before `{`): 28 B less of the script tag than the
 * double-quoted string.
 */
function latin1Literal(bytes) {
  let s = '`';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x60) s += '\\`';
    else if (b === 0x5c) s += '\\\\';
    else if (b === 0x0d) s += '\\r';
    else if (b === 0x24 && bytes[i + 1] === 0x7b) s += '\\$';
    else s += String.fromCharCode(b);
  }
  return s + '`';
}

function parseArgs(argv) {
  const o = { profile: 'z', wasmOpt: true, jsDir: join(root, 'js'), outDir: join(root, 'dist'), budget: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) die(`${a} needs a value`);
      return v;
    };
    if (a === '--profile') o.profile = val();
    else if (a.startsWith('--profile=')) o.profile = a.slice('--profile='.length);
    else if (a === '--no-wasm-opt') o.wasmOpt = false;
    else if (a === '--js-dir') o.jsDir = resolve(val());
    else if (a === '--out-dir') o.outDir = resolve(val());
    else if (a === '--no-budget') o.budget = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/build.mjs [--profile s|z] [--no-wasm-opt] [--js-dir DIR] [--out-dir DIR] [--no-budget]');
      process.exit(0);
    } else die(`unknown argument: ${a}`);
  }
  if (!['s', 'z'].includes(o.profile)) die(`--profile must be s or z, not ${o.profile}`);
  return o;
}

function die(msg) {
  console.error(`build: ${msg}`);
  process.exit(1);
}

function step(title) {
  console.log(`\n== ${title}`);
}

/** Runs a command with inherited stdio; exits the build when it fails. */
function run(cmd, args, opts = {}) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: opts.capture ? 'pipe' : 'inherit', encoding: 'utf8', env: opts.env ?? process.env });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    if (opts.capture) return r;
    die(`${cmd} exited with ${r.status ?? r.signal}`);
  }
  return r;
}

function sizes(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: {
        [zc.BROTLI_PARAM_QUALITY]: 11,
        [zc.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length,
  };
}

const wasmPlugin = () => ({
  name: 'sessionmark-wasm',
  setup(build) {
    build.onResolve({ filter: /^sessionmark:wasm$/ }, (a) => ({ path: a.path, namespace: 'sessionmark-wasm' }));
    build.onLoad({ filter: /.*/, namespace: 'sessionmark-wasm' }, () => ({
      contents: `export default ${JSON.stringify(PLACEHOLDER)};`,
      loader: 'js',
    }));
  },
});

const opts = parseArgs(process.argv.slice(2));
const started = Date.now();
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target');
const pkgDir = join(root, 'pkg');

console.log(`build: opt-level "${opts.profile}"${opts.profile === 'z' ? ' (Cargo.toml default)' : ' (CARGO_PROFILE_RELEASE_OPT_LEVEL=s)'}, wasm-opt ${opts.wasmOpt ? 'on (-Oz)' : 'off'}`);

// 1. Rust → wasm32
step('cargo build (wasm32, release)');
const cargoEnv = { ...process.env };
if (opts.profile === 's') cargoEnv.CARGO_PROFILE_RELEASE_OPT_LEVEL = 's';
run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'sessionmark'], { env: cargoEnv });
const rawWasm = join(targetDir, 'wasm32-unknown-unknown', 'release', 'sessionmark.wasm');
if (!existsSync(rawWasm)) die(`missing ${rawWasm}`);

// 2. wasm-bindgen glue (must be the CLI version matching Cargo.lock: scripts/setup.sh)
step('wasm-bindgen');
run('wasm-bindgen', ['--target', 'web', '--out-dir', pkgDir, rawWasm]);
const bgWasm = join(pkgDir, 'sessionmark_bg.wasm');
// The shim compiles the inlined module itself (js/wasm.js): it needs the
// glue's import object and its finishing step, not initSync (whose checks
// and deprecation warning would ship otherwise). wasm-bindgen does not
// export them, so the glue does now.
//
// The core holds no JS values (one export of numbers and a buffer in its
// memory), so wasm-bindgen's externref table is never used: its one import
// only fills the table's first slots at the start. The glue's import
// object is emptied and its start call dropped here, and wasm-opt removes
// the table, the start export and the import (step 3): 17434 -> 17426 B
// brotli of the script tag, the ESM 17301 -> 17176. The finishing step's
// copies of the instance and module (for the glue's async loader, which
// the shim never uses) go too: 17341 -> 17321 B.
{
  const glueFile = join(pkgDir, 'sessionmark.js');
  let glue = readFileSync(glueFile, 'utf8');
  for (const name of ['__wbg_get_imports', '__wbg_finalize_init']) {
    if (!new RegExp(`function ${name}\\(`).test(glue)) die(`the wasm-bindgen glue has no ${name}`);
  }
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(bgWasm)));
  if (imports.length !== 1 || imports[0].name !== '__wbindgen_init_externref_table') {
    die(`the wasm imports ${imports.map((i) => i.name).join(', ') || 'nothing'}; expected only wasm-bindgen's externref table start`);
  }
  const emptied = glue.replace(/function __wbg_get_imports\(\) \{\n[\s\S]*?\n\}\n/, 'function __wbg_get_imports() {\n    return {};\n}\n');
  const started = emptied
    .replace(/\n\s*wasm\.__wbindgen_start\(\);/, '')
    // Kept by the glue for its async loader, which the shim never uses.
    .replace(/\n\s*wasmInstance = instance;/, '')
    .replace(/\n\s*wasmModule = module;/, '');
  if (emptied === glue || started === emptied || /__wbindgen_externrefs|__wbindgen_start/.test(started)) {
    die('the wasm-bindgen glue is not the shape whose externref table start can be dropped');
  }
  writeFileSync(glueFile, started + '\nexport { __wbg_get_imports, __wbg_finalize_init };\n');
}

// 3. wasm-opt
const optWasm = join(pkgDir, 'sessionmark_bg.opt.wasm');
let wasmOptFlags = null;
if (opts.wasmOpt) {
  step('wasm-opt -Oz');
  const wasmOptBin = join(root, 'node_modules', '.bin', 'wasm-opt');
  if (!existsSync(wasmOptBin)) die('node_modules/.bin/wasm-opt missing: run scripts/setup.sh');
  // target_features is linker metadata the browser never reads (~150 B).
  // Measured on the script tag (brotli): --converge (repeat -Oz until it
  // stops shrinking) -170 B; merging similar functions first (the
  // monomorphised Vec helpers differ in a constant or two) -100 B more.
  // Not kept: --low-memory-unused (-30 B, an assumption about the stack),
  // --gufa-optimizing (+60 B), --zero-filled-memory (no change).
  // Then: functions with one caller are inlined only when small
  // (-ocimfs=37, binaryen's default inlines them all: 25..40 measured
  // -250..-330 B brotli, 50 and up less, below 20 less; re-measured after
  // the third size round: 36..38 best, 30 was 27 B more), and functions
  // are ordered by how often they are called (shorter indices for the
  // busiest: -80 B). The static data kept as one segment with its runs of
  // zeros (memory-packing skipped): -packing splits it at every zero run
  // into 28 segments, whose headers (offsets) cost more than the zeros do
  // once compressed: 17513 -> 17497 B brotli of the script tag, the ESM
  // 17405 -> 17325. wasm-bindgen's two abort-handler exports
  // (`__abort_handler`, `__instance_terminated`: addresses for a glue that
  // restarts an instance after a panic, which this glue, built with
  // panic=abort, never reads) removed: 17497 -> 17434 B brotli.
  // The functions are ordered by their Rust names (module paths), which
  // puts each module's functions, and a generic's instances, next to each
  // other: brotli models the code better than in the order of how often
  // each is called (shorter call indices for the busiest), 17364 -> 17263
  // B brotli of the script tag though the wasm grows 123 B raw. The names
  // (`-g`: the module's name section) are kept until then and stripped by
  // the next step.
  // The control flow rebuilt by binaryen's relooper (`--flatten
  // --rereloop`) before -Oz and once more after it converged: it finds
  // a shape -Oz alone does not (fewer nested blocks and branches),
  // 17263 -> 17161 B brotli (once, after the converged -Oz: 17195; once,
  // before it: 17190). An early round measured it +50 B as one pass at
  // the end, on older code.
  const base = ['-g', '--remove-exports', '--pass-arg=remove-exports@__abort_handler,__instance_terminated,__wbindgen_externrefs,__wbindgen_start', '--skip-pass=memory-packing', '--merge-similar-functions', '--flatten', '--rereloop', '-Oz', '-ocimfs=37', '--converge', '--flatten', '--rereloop', '-Oz', '--reorder-functions-by-name', '--strip-producers', '--strip-target-features'];
  // rustc's wasm32 target enables post-MVP features by default (bulk-memory,
  // sign-ext, nontrapping float-to-int, mutable-globals, multivalue,
  // reference-types). wasm-opt reads them from the module's target_features
  // section (which wasm-bindgen keeps), so the plain run normally succeeds;
  // should that section be missing, name the features explicitly.
  const features = [
    '--enable-bulk-memory',
    '--enable-nontrapping-float-to-int',
    '--enable-sign-ext',
    '--enable-mutable-globals',
  ];
  const attempts = [[], features, [...features, '--enable-multivalue', '--enable-reference-types']];
  let ok = false;
  for (const extra of attempts) {
    const args = [...base, ...extra, bgWasm, '-o', optWasm];
    const r = run(wasmOptBin, args, { capture: true });
    if (r.status === 0) {
      wasmOptFlags = [...base, ...extra];
      ok = true;
      break;
    }
    const why = `${r.stderr || ''}${r.stdout || ''}`.trim().split('\n').slice(0, 4).join('\n    ');
    console.log(`  wasm-opt refused (${r.status}):\n    ${why}`);
  }
  if (!ok) die('wasm-opt failed with every feature set');
  console.log(`  ok with: ${wasmOptFlags.join(' ')}`);
} else {
  step('wasm-opt skipped (--no-wasm-opt)');
  copyFileSync(bgWasm, optWasm);
}

// 3b. Short import, export and module names. wasm-bindgen names each import
// "./sessionmark_bg.js" + "__wbg_<name>_<hash>" (~65 bytes apiece); binaryen
// renames them to one or two letters and the glue JS is rewritten to match.
// Order is kept, so old and new names pair up by index.
if (opts.wasmOpt) {
  step('wasm-opt --minify-imports-and-exports-and-modules');
  const wasmOptBin = join(root, 'node_modules', '.bin', 'wasm-opt');
  const minWasm = join(pkgDir, 'sessionmark_bg.min.wasm');
  // The first pass stripped the target_features section: name them all.
  const flags = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals', '--enable-multivalue', '--enable-reference-types'];
  // The names kept for the ordering above go here (`--strip-debug`).
  const r = run(wasmOptBin, ['--minify-imports-and-exports-and-modules', '--strip-debug', ...flags, optWasm, '-o', minWasm], { capture: true });
  if (r.status !== 0) die(`wasm-opt minify failed: ${r.stderr}`);
  const before = new WebAssembly.Module(readFileSync(optWasm));
  const after = new WebAssembly.Module(readFileSync(minWasm));
  const pairs = (f) => f(before).map((x, i) => [x, f(after)[i]]);
  const glueFile = join(pkgDir, 'sessionmark.js');
  let glue = readFileSync(glueFile, 'utf8');
  const modules = new Set();
  for (const [o, n] of pairs(WebAssembly.Module.imports)) {
    if (o.module !== './sessionmark_bg.js') die(`unexpected import module ${o.module}`);
    modules.add(n.module);
    // Import names carry a hash: unique strings, safe to replace whole.
    glue = glue.replace(new RegExp(`\\b${o.name}\\b`, 'g'), n.name);
  }
  if (modules.size > 1) die('expected at most one import module after minifying');
  glue = glue.replace('"./sessionmark_bg.js"', JSON.stringify([...modules][0]));
  const exportMap = new Map(pairs(WebAssembly.Module.exports).map(([o, n]) => [o.name, n.name]));
  glue = glue.replace(/\bwasm\.(\w+)\b/g, (m, name) => (exportMap.has(name) ? `wasm.${exportMap.get(name)}` : m));
  writeFileSync(glueFile, glue);
  copyFileSync(minWasm, optWasm);
}
const wasmBytes = readFileSync(optWasm);

// 4. bundles
step('esbuild');
const entries = [
  { in: join(opts.jsDir, 'script.js'), out: join(opts.outDir, 'sessionmark.js'), format: 'iife' },
  { in: join(opts.jsDir, 'index.js'), out: join(opts.outDir, 'sessionmark.mjs'), format: 'esm' },
];
for (const e of entries) if (!existsSync(e.in)) die(`missing entry ${e.in}`);
mkdirSync(opts.outDir, { recursive: true });
/** The bundle of entry `e` (its text; the file is not written). */
async function bundle(e) {
  const r = await esbuild.build({
    entryPoints: [e.in],
    bundle: true,
    write: false,
    format: e.format,
    platform: 'browser',
    // es2020: the wasm-bindgen glue may use BigInt literals, which cannot be
    // lowered further; every browser with WebAssembly + wasm-unsafe-eval has it.
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    treeShaking: true,
    plugins: [wasmPlugin()],
    // The glue's unused async loader mentions import.meta.url; the shim uses
    // initSync with the inlined bytes, so it is empty and harmless in the IIFE.
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  });
  if (r.errors.length) die(`esbuild failed for ${e.in}`);
  // terser after esbuild's own minifying: its compressor folds what
  // esbuild's leaves (README Size: -72 B on the script tag).
  const minified = await minify(r.outputFiles[0].text, {
    ecma: 2020,
    module: e.format === 'esm',
    format: { ascii_only: false },
  });
  const js = `${minified.code}\n`;
  const at = js.indexOf(`"${PLACEHOLDER}"`);
  if (at < 0 || js.indexOf(`"${PLACEHOLDER}"`, at + 1) >= 0) die(`${e.out}: expected one wasm placeholder`);
  const before = js.slice(0, at);
  const after = js.slice(at + PLACEHOLDER.length + 2);
  const literal = latin1Literal(wasmBytes);
  if (e.format !== 'iife') return '\ufeff' + before + literal + after;
  // The script tag: the literal last, as the argument of the bundle's
  // function (`((w)=>{...w...})(`...`)`): brotli packs the JS better
  // before the wasm than after it (70 B of the script tag).
  const open = '(()=>{';
  const close = '})();\n';
  if (!before.startsWith(open) || !after.endsWith(close)) die(`${e.out}: not the IIFE shape the wasm is passed into`);
  // The parameter: a one- or two-letter name the minified code does not use.
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const names = [...letters, ...[...letters].flatMap((a) => [...letters].map((b) => a + b))];
  const w = names.find((n) => !new RegExp(`(?<![\\w$])${n}(?![\\w$])`).test(js));
  return `\ufeff((${w})=>{` + before.slice(open.length) + w + after.slice(0, -close.length) + '})(' + literal + ');\n';
}

for (const e of entries) {
  writeFileSync(e.out, await bundle(e), 'utf8');
  console.log(`  ${e.in.replace(root + '/', '')} → ${e.out.replace(root + '/', '')} (${e.format})`);
}
const dts = join(opts.jsDir, 'index.d.ts');
if (!existsSync(dts)) die(`missing ${dts}`);
copyFileSync(dts, join(opts.outDir, 'sessionmark.d.ts'));
console.log(`  ${dts.replace(root + '/', '')} → ${join(opts.outDir, 'sessionmark.d.ts').replace(root + '/', '')}`);

// 5. sizes
step('sizes (bytes)');
const rows = [
  ['sessionmark_bg.opt.wasm (wasm alone)', optWasm],
  ['dist/sessionmark.js (script tag: JS + inlined wasm)', entries[0].out],
  ['dist/sessionmark.mjs (ESM: JS + inlined wasm)', entries[1].out],
];
const table = {};
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${'file'.padEnd(w)}  ${'raw'.padStart(8)}  ${'gzip -9'.padStart(8)}  ${'brotli 11'.padStart(9)}`);
for (const [label, file] of rows) {
  const s = sizes(readFileSync(file));
  table[label.split(' ')[0]] = s;
  console.log(`${label.padEnd(w)}  ${String(s.raw).padStart(8)}  ${String(s.gzip).padStart(8)}  ${String(s.brotli).padStart(9)}`);
}
const scriptBrotli = table['dist/sessionmark.js'].brotli;
const within = scriptBrotli <= BUDGET_BROTLI;
const underCeiling = scriptBrotli <= CEILING_BROTLI;
const report = {
  profile: opts.profile,
  wasmOpt: opts.wasmOpt ? wasmOptFlags : false,
  budget: { file: 'dist/sessionmark.js', brotli: BUDGET_BROTLI, ceiling: CEILING_BROTLI, actual: scriptBrotli, ok: within },
  files: table,
  builtAt: new Date().toISOString(),
  seconds: (Date.now() - started) / 1000,
};
writeFileSync(join(opts.outDir, 'sizes.json'), JSON.stringify(report, null, 2) + '\n');
console.log(`\nbudget: dist/sessionmark.js brotli ${scriptBrotli} bytes; budget ${BUDGET_BROTLI}: ${within ? 'met' : 'NOT MET'}; ratchet ceiling ${CEILING_BROTLI}: ${underCeiling ? 'ok' : 'OVER'}`);
console.log(`build: done in ${report.seconds.toFixed(1)} s (opt-level "${opts.profile}", wasm-opt ${opts.wasmOpt ? 'on' : 'off'})`);
if (!underCeiling) {
  if (opts.budget) die(`dist/sessionmark.js is ${scriptBrotli} bytes brotli, over the ${CEILING_BROTLI} byte ceiling`);
  console.log('build: over the ceiling, but --no-budget was given');
}

// 6. Precompressed copies of the bundles, next to them, for servers that
// pick a file by Accept-Encoding (the collector does): the bytes a page
// downloads are then the brotli size this build reports. Each copy is
// decoded back and compared, so a bad copy fails the build.
{
  const { brotliDecompressSync, gunzipSync } = await import('node:zlib');
  step('precompressed copies (.br, .gz)');
  for (const file of ['sessionmark.js', 'sessionmark.mjs'].map((f) => join(opts.outDir, f))) {
    const bytes = readFileSync(file);
    const br = brotliCompressSync(bytes, {
      params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    });
    const gz = gzipSync(bytes, { level: 9 });
    if (!brotliDecompressSync(br).equals(bytes) || !gunzipSync(gz).equals(bytes)) die(`${file}: a compressed copy does not decode to the file`);
    writeFileSync(file + '.br', br);
    writeFileSync(file + '.gz', gz);
    console.log(`  ${file.replace(root + '/', '')}: ${bytes.length} B, .br ${br.length} B, .gz ${gz.length} B`);
  }
}
