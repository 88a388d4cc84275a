// Loading the inlined wasm, and the one call into it: an input goes in,
// the core's answer and commands come out, and the commands are carried
// out at once, in order. Every entry point is guarded: the tracker never
// throws into the host page.
import wasmText from 'sessionmark:wasm';
import { input as coreInput, __wbg_get_imports as imports, __wbg_finalize_init as finish } from '../pkg/sessionmark.js';
import { perform } from './commands.js';

// The code that asks the core for room for an input's text (src/web/mod.rs).
const BUFFER = 255;

let memory; // the wasm's memory; undefined: not loaded yet; null: failed for good
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function loaded() {
  if (memory === undefined) {
    // Imported where there is no page (server-side rendering): every call
    // does nothing, after this one warning.
    if (typeof document === 'undefined') {
      memory = null;
      console.warn('sessionmark: no document here (server-side rendering?); the tracker does nothing');
      return false;
    }
    try {
      // The wasm is inlined one character per byte (scripts/build.mjs says
      // why); compiling it synchronously lets the API answer at once. btoa
      // and Uint8Array.fromBase64 turn the text into bytes natively, about
      // 0.2 ms where a loop of charCodeAt takes 1.5 to 4 ms, as V8 runs a
      // loop of a function called once in its interpreter (README
      // "Start-up"); the loop is left for browsers without fromBase64.
      const bytes = Uint8Array.fromBase64?.(btoa(wasmText)) ?? Uint8Array.from(wasmText, (c) => c.charCodeAt());
      // The exports' names are minified by the build: the memory is the one export of its kind.
      const module = new WebAssembly.Module(bytes);
      const exports = finish(new WebAssembly.Instance(module, imports()), module);
      memory = Object.values(exports).find((e) => e instanceof WebAssembly.Memory);
    } catch (e) {
      memory = null;
      console.warn('sessionmark: could not start', e);
    }
  }
  return !!memory;
}

// The text crosses through the core's buffer in its memory: the input's
// UTF-8 is written where the core says, and the reply is read where it
// says (UTF-8 up to a zero byte).
function call(code, text) {
  // Room for the most UTF-8 the text can take (3 bytes per UTF-16 unit),
  // encoded there in place: no array of its own to copy, several times
  // faster than encode() (README "Size"). The largest text, the start's
  // read of a full outbox (512 KiB), asks for 1.5 MB, which the memory
  // keeps. A call may grow the memory, which detaches views made before it.
  const most = text.length * 3;
  const room = coreInput(BUFFER, 0, most);
  const { written } = encoder.encodeInto(text, new Uint8Array(memory.buffer, room, most));
  const at = coreInput(code, Date.now(), written);
  const reply = new Uint8Array(memory.buffer);
  return decoder.decode(reply.subarray(at, reply.indexOf(0, at)));
}

// Fresh random words for every input: the ids an input mints depend on
// its own (src/rand.rs). The browser draws them 1024 at a time, and each
// word goes to one input only: 4 words drawn and written out took 4.15 µs
// an input, 1.0 from the block (README "Size").
const words = new Uint32Array(1024);
let used = 1024;
function random() {
  if (used === 1024) {
    used = 0;
    try {
      crypto.getRandomValues(words);
    } catch (e) {
      for (let i = 0; i < 1024; i++) words[i] = Math.random() * 2 ** 32;
    }
  }
  return words.subarray(used, (used += 4)).join('\n');
}

/** Input `code` (js/inputs.js) with its fields; returns the core's answer (null for none). */
export function input(code, fields) {
  if (!loaded()) return null;
  // The reply is the commands, then the answer, then `]` (src/command.rs).
  const commands = JSON.parse('[' + call(code, random() + '\n' + fields.join('\n')));
  const answer = commands.pop();
  for (const command of commands) {
    try {
      perform(command);
    } catch (e) {
      console.warn('sessionmark:', e);
    }
  }
  return answer;
}

/** `f` that never throws, and does nothing unless the core is loaded: errors are logged, `fallback` returned instead (and for an undefined result). */
export function guard(f, fallback) {
  return function () {
    try {
      const result = loaded() ? f.apply(this, arguments) : undefined;
      return result === undefined ? fallback : result;
    } catch (e) {
      console.warn('sessionmark:', e);
    }
    return fallback;
  };
}
