// Small helpers every part of the dashboard shares: building elements
// (always through textContent, never markup from data, so a hall's name
// cannot inject anything), formatting times and durations, the server's
// clock, and the page's one way to call the API (api(): the session's CSRF
// token on every write, a session that ended reported once, a missing
// route (404) told from a failure and from a refusal (403)).

export const WORST = ['ok', 'closed', 'warning', 'alert', 'offline'];
export const WORST_LABEL = {
  ok: 'OK', closed: 'Closed', warning: 'Warning', alert: 'Alert', offline: 'Offline',
};
export const worstIndex = (w) => {
  const i = WORST.indexOf(w);
  return i < 0 ? WORST.length - 1 : i;
};

// el('div', {class: 'x', data: {hall: 'H1'}, text: 'hi'}, child, ...)
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export function clear(e) {
  while (e.firstChild) e.firstChild.remove();
}

// Seconds as people read a wait: 45s, 12m, 1h05m, 2d3h.
export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit', second: '2-digit'});
}

export function fmtDateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

// One formatter for every number: toLocaleString() builds a new one per
// call, which showed as the page's largest cost under a busy stream.
const numberFormat = new Intl.NumberFormat();
export function fmtNumber(n) {
  return n === null || n === undefined ? '–' : numberFormat.format(n);
}

// The head office's clock, as told by the Date header of its answers. Waits
// are computed here from issue times (a tile carries the oldest waiting
// ticket's issue time, not its wait, so that it changes only when the hall
// does); a browser clock that is off would otherwise show wrong waits. The
// header has whole seconds, so waits are right to about a second.
let clockOffsetMs = 0;
let clockKnown = false;
export function noteServerDate(res) {
  const d = res.headers.get('date');
  const t = d ? Date.parse(d) : NaN;
  if (Number.isNaN(t)) return;
  // Date is truncated to the second: the server's now lies in [t, t + 1s).
  const off = t + 500 - Date.now();
  clockOffsetMs = clockKnown ? clockOffsetMs * 0.8 + off * 0.2 : off;
  clockKnown = true;
}
export const serverNow = () => Date.now() + clockOffsetMs;

// Seconds since an RFC 3339 time on the server's clock (null for none).
export function secondsSince(iso) {
  if (!iso) return null;
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return Math.max(0, (serverNow() - t) / 1000);
}

export const REQUEST_TIMEOUT_MS = 15000;

// The session's CSRF token (GET /v1/me and POST /v1/login answer it). The
// session cookie itself is HttpOnly: the browser sends it, no script reads
// it. A write made with the cookie must also carry this token in
// X-CSRF-Token, which a page of another site cannot know, so a cross-site
// form or fetch is refused (docs/SECURITY.md).
let csrfToken = null;
export function setCsrfToken(t) {
  csrfToken = typeof t === 'string' && t ? t : null;
}

// Called once when an answer says the caller is nobody (401: the session
// expired, was ended elsewhere, or the person was removed), so that the
// page can show its sign-in form instead of retrying for ever.
let sessionEnded = null;
let sessionEndedCalled = false;
export function onSessionEnded(fn) {
  sessionEnded = fn;
  sessionEndedCalled = false;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

// Calls the API on the page's own origin: {status, body, headers}. status
// 0 means the request failed (network, timeout); body is the parsed JSON or
// null. A write (any method but GET and HEAD) carries the CSRF token, and a
// body, when given, as JSON. Never throws.
export async function api(path, {method = 'GET', body, quiet401 = false} = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
  const headers = {Accept: 'application/json'};
  if (!SAFE_METHODS.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await fetch(path, {
      method, headers, signal: ctl.signal, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    noteServerDate(res);
    let parsed = null;
    try {
      parsed = await res.json();
    } catch (e) {
      parsed = null;
    }
    if (res.status === 401 && !quiet401 && sessionEnded && !sessionEndedCalled) {
      sessionEndedCalled = true;
      sessionEnded(parsed);
    }
    if (parsed === null && res.ok) return {status: 0, body: null, headers: res.headers};
    return {status: res.status, body: parsed, headers: res.headers};
  } catch (e) {
    return {status: 0, body: null, headers: null};
  } finally {
    clearTimeout(timer);
  }
}

// GET a JSON answer: {status, body}, as api() gives it.
export function getJSON(path) {
  return api(path);
}

// The caller's roles do not allow it, or not for that hall or region: the
// part of the page says so rather than "could not be loaded".
export const forbidden = (r) => r.status === 403;

// Routes being built in parallel (alerts, campaigns) may be missing on an
// older head office; the part of the page that needs one says so instead
// of failing. A 404 from a route that takes an id is "no such thing", which
// the caller tells apart by the error code in the body.
export const routeMissing = (r) =>
  r.status === 404 && r.body && typeof r.body.reason === 'string' &&
  r.body.reason.startsWith('no route');

export const esc = (s) => (s === null || s === undefined ? '' : String(s));
