// tracingHeaders: X-Session-ID on fetch and XHR requests to the listed
// hosts (exact `host` or `host:port`), nothing else of a request touched.
import { input } from './wasm.js';
import { SessionIdRead } from './inputs.js';
import { keepFetch } from './transport.js';

export const HEADER = 'X-Session-ID';
let untraceHosts;

/** Wraps fetch and XHR for `hosts` (the core's `trace` command). */
export function trace(hosts) {
  if (untraceHosts || !hosts.length) return;
  // Relative URLs resolve against the document base, as fetch and XHR do.
  const wanted = (url) => {
    try {
      return hosts.includes(new URL(url, document.baseURI).host);
    } catch (e) {
      return false;
    }
  };
  const sessionId = () => input(SessionIdRead, ['']);
  // The tracker's own batches go through the fetch as it was before.
  const pageFetch = keepFetch();
  const xhr = XMLHttpRequest.prototype;
  const { open, send, setRequestHeader } = xhr;
  const traced = new WeakSet();
  const ownHeader = new WeakSet();
  const ours = {
    fetch(resource, init) {
      try {
        // Duck-typed: a Request from another realm (an iframe) is one too.
        const isRequest =
          resource != null && typeof resource === 'object' && typeof resource.url === 'string' && resource.headers != null;
        const id = wanted(isRequest ? resource.url : String(resource)) && sessionId();
        if (id) {
          // Headers given in init replace the Request's own, so start
          // from whichever the browser would have used; a value the page
          // set itself stays.
          const headers = new Headers(
            init && init.headers !== undefined ? init.headers : isRequest ? resource.headers : undefined,
          );
          if (!headers.has(HEADER)) {
            headers.set(HEADER, id);
            // Every other field is read through to the caller's init,
            // inherited ones included.
            init = Object.create(init != null && typeof init === 'object' ? init : null, {
              headers: { value: headers, enumerable: true },
            });
          }
        }
      } catch (e) {}
      return pageFetch.call(this, resource, init);
    },
    open(method, url) {
      try {
        ownHeader.delete(this);
        if (wanted(String(url))) traced.add(this);
        else traced.delete(this);
      } catch (e) {}
      return open.apply(this, arguments);
    },
    setRequestHeader(name) {
      try {
        if (String(name).toLowerCase() === 'x-session-id') ownHeader.add(this);
      } catch (e) {}
      return setRequestHeader.apply(this, arguments);
    },
    send() {
      try {
        // XHR appends repeated headers: never add a second value.
        const id = traced.has(this) && !ownHeader.has(this) && sessionId();
        if (id) setRequestHeader.call(this, HEADER, id);
      } catch (e) {}
      return send.apply(this, arguments);
    },
  };
  window.fetch = ours.fetch;
  Object.assign(xhr, { open: ours.open, send: ours.send, setRequestHeader: ours.setRequestHeader });
  // Puts back what was there, unless another script wrapped ours since.
  untraceHosts = () => {
    if (window.fetch === ours.fetch) window.fetch = pageFetch;
    if (xhr.open === ours.open) xhr.open = open;
    if (xhr.send === ours.send) xhr.send = send;
    if (xhr.setRequestHeader === ours.setRequestHeader) xhr.setRequestHeader = setRequestHeader;
  };
}

/** Removes the wrappers (consent withdrawn). */
export function untrace() {
  if (untraceHosts) untraceHosts();
}
