// Loading the inlined wasm, and the one call into it: an input goes in,
// the core's answer and commands come out, and the commands are carried
// out at once, in order. Every entry point is guarded: the tracker never
// throws into the host page.
import wasmText from 'sessionmark:wasm';
import { input as coreInput, initSync } from '../pkg/sessionmark.js';
import { perform } from './commands.js';

let state = 0; // 0: not loaded, 1: ready, 2: failed for good

function loaded() {
  if (!state) {
    try {
      // The wasm is inlined one character per byte (scripts/build.mjs says
      // why); compiling it synchronously lets the API answer at once.
      const bytes = new Uint8Array(wasmText.length);
      for (let i = 0; i < bytes.length; i++) bytes[i] = wasmText.charCodeAt(i);
      initSync({ module: bytes });
      state = 1;
    } catch (e) {
      state = 2;
      console.warn('sessionmark: could not start', e);
    }
  }
  return state === 1;
}

/** Input `code` (js/inputs.js) with its fields; returns the core's answer (null for none). */
export function input(code, fields) {
  if (!loaded()) return null;
  const [answer, ...commands] = JSON.parse(coreInput(code, Date.now(), fields.join('\n')));
  for (const command of commands) {
    try {
      perform(command);
    } catch (e) {
      console.warn('sessionmark:', e);
    }
  }
  return answer;
}

/** `f` that never throws: errors are logged, `fallback` returned instead (and for an undefined result). */
export function guard(f, fallback) {
  return function () {
    try {
      const result = f.apply(this, arguments);
      return result === undefined ? fallback : result;
    } catch (e) {
      console.warn('sessionmark:', e);
    }
    return fallback;
  };
}
