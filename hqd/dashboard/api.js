// The page's one way to call the API: api() and getJSON() (the session's
// CSRF token on every write, a session that ended reported once), and the
// head office's clock as its answers tell it. It imports nothing, so that
// the page's first requests (prefetch.js) can be sent before the
// catalogues of texts are loaded. Not here: what a caller does with an
// answer, formatting (util.js re-exports all of this for the views).
// It also reads what hqd wrote into the page (served), which prefetch.js
// and i18n.js take instead of asking.

// What hqd wrote into the page it served (hqd/api/page.c): {lang, texts,
// me}, "texts" the catalogue of the language `lang`, "me" GET /v1/me's
// answer when the request carried a live session. An empty object when the
// page came without it (another server, a page saved to disk): the page
// then asks GET /v1/me and loads its catalogue, as before.
function readServed() {
  const e = document.getElementById('hb-served');
  if (!e) return {};
  try {
    const v = JSON.parse(e.textContent);
    return v && typeof v === 'object' ? v : {};
  } catch (err) {
    console.error('dashboard: the data hqd wrote into the page is not JSON', err);
    return {};
  }
}
export const served = readServed();

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
