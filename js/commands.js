// Carries out the core's commands (src/command.rs lists them).
import { guard, input } from './wasm.js';
import { Stored, Timer } from './inputs.js';
import { listen, unlisten } from './listeners.js';
import { trace } from './tracing.js';
import { send } from './transport.js';
import { unwrapAll } from './wrap.js';

const area = (name) => (name === 'local' ? localStorage : sessionStorage);

// Storage or cookies that throw (disabled, sandboxed frame, quota) are
// skipped: the tracker then keeps its state in memory. An unreadable key
// reads as absent.
function read(name, key) {
  try {
    return area(name).getItem(key) || '';
  } catch (e) {
    return '';
  }
}

function write(name, key, value) {
  try {
    if (value === undefined) area(name).removeItem(key);
    else area(name).setItem(key, value);
  } catch (e) {}
}

let timer;

// Each command by its name (src/command.rs): its fields are the arguments.
const commands = {
  set: write,
  remove: write,
  cookie(text) {
    try {
      document.cookie = text;
    } catch (e) {}
  },
  send,
  warn: (text) => console.warn('sessionmark: ' + text),
  timer(ms) {
    clearTimeout(timer);
    if (ms >= 0) timer = setTimeout(guard(() => input(Timer, [])), ms);
  },
  read(...keys) {
    const values = [];
    for (let i = 0; i < keys.length; i += 2) values.push(read(keys[i], keys[i + 1]));
    input(Stored, values);
  },
  listen,
  trace: (...hosts) => trace(hosts),
  stop() {
    clearTimeout(timer);
    unlisten();
    unwrapAll();
  },
};

export function perform([name, ...fields]) {
  commands[name](...fields);
}
