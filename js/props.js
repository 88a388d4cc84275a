// Event properties: a plain object of JSON values, sent as JSON text with
// the global properties merged in (the event's own win). What cannot be
// sent is reported to the core, which warns.

let globals = {};

// Props given to the API: an object, or null (problem 'object').
function plain(props, report) {
  if (props != null && (typeof props !== 'object' || Array.isArray(props))) {
    report('object');
    return null;
  }
  return props;
}

// `props` as JSON object text. Values JSON cannot hold (functions,
// symbols, BigInt, cycles) are dropped (problem 'values'); never a throw.
function json(props, report) {
  // Fast path: a flat object of strings, finite numbers, booleans and null
  // needs no replacer (the replacer makes JSON.stringify several times slower).
  let flat = true;
  for (const k in props) {
    const v = props[k];
    const t = typeof v;
    if (!(v === null || t === 'string' || t === 'boolean' || (t === 'number' && isFinite(v)))) flat = false;
  }
  if (flat) return JSON.stringify(props);
  const stack = [];
  return JSON.stringify(props, function (key, value) {
    const t = typeof value;
    if (t === 'function' || t === 'symbol' || t === 'bigint') return void report('values');
    if (value && t === 'object') {
      // JSON.stringify walks depth-first: unwind to this value's holder,
      // then a value already on the path is a cycle.
      while (stack.length && stack[stack.length - 1] !== this) stack.pop();
      if (stack.includes(value)) return void report('values');
      stack.push(value);
    }
    return value;
  });
}

// The fields `[problem, json]` of `props` merged over `base`.
function fields(base, props) {
  let problem = '';
  const report = (p) => (problem = p);
  const text = json(Object.assign({}, base, plain(props, report)), report);
  return [problem, text];
}

/** The fields `[problem, json]` of an event's properties, globals merged in. */
export const propsFields = (props) => fields(globals, props);

/** `setGlobalProperties(props)`: replaces the globals; their fields `[problem, json]`. */
export function setGlobals(props) {
  const f = fields({}, props);
  // What was sent, kept: what JSON cannot hold is dropped (and warned
  // about) once, not again with every event.
  globals = JSON.parse(f[1]);
  return f;
}

/** `clear()` resets the global properties. */
export function resetGlobals() {
  globals = {};
}
