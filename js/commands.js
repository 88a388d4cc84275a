// Carries out the core's commands (src/command.rs lists them).
import { guard, input } from './wasm.js';
import { Stored, Timer } from './inputs.js';
import { listen, unlisten } from './listeners.js';
import { trace, untrace } from './tracing.js';
import { send } from './transport.js';

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

export function perform(command) {
  const [name, a, b, c, d] = command;
  if (name === 'set') write(a, b, c);
  else if (name === 'remove') write(a, b);
  else if (name === 'cookie') {
    try {
      document.cookie = a;
    } catch (e) {}
  } else if (name === 'send') send(a, b, c, d);
  else if (name === 'warn') console.warn(a);
  else if (name === 'timer') {
    clearTimeout(timer);
    if (a >= 0) timer = setTimeout(guard(() => input(Timer, [])), a);
  } else if (name === 'read') {
    const values = [];
    for (let i = 1; i < command.length; i += 2) values.push(read(command[i], command[i + 1]));
    input(Stored, values);
  } else if (name === 'listen') listen();
  else if (name === 'trace') trace(command.slice(1));
  else if (name === 'stop') {
    clearTimeout(timer);
    unlisten();
    untrace();
  }
}
