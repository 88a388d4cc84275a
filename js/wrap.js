// The page's own functions the tracker wraps (the History API, and fetch
// and XHR for tracingHeaders), each put back when consent is withdrawn.

let unwraps = [];

/** Puts `make(original)` in place of `target[name]`. */
export function wrap(target, name, make) {
  const original = target[name];
  const ours = make(original);
  target[name] = ours;
  // Puts back the original, unless another script wrapped ours since.
  unwraps.push(() => target[name] === ours && (target[name] = original));
}

/** Puts back every original (consent withdrawn). */
export function unwrapAll() {
  for (const f of unwraps) f();
  unwraps = [];
}
