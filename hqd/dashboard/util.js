// Small helpers every part of the dashboard shares: building elements
// (always through textContent, never markup from data, so a hall's name
// cannot inject anything), formatting times and durations, telling a
// missing route (404) from a failure and from a refusal (403), and, from
// api.js, the server's clock and the page's one way to call the API
// (api(): the session's CSRF token on every write, a session that ended
// reported once). Formatting is i18n.js's, in the page's language.

import {t} from './i18n.js';
import {serverNow} from './api.js';

export const WORST = ['ok', 'closed', 'warning', 'alert', 'offline'];
// A worst state as people read it, in the page's language.
export const worstLabel = (w) => t(`worst.${WORST.includes(w) ? w : 'offline'}`);
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

// Numbers, times and durations in the page's language (i18n.js).
export {fmtDuration, fmtTime, fmtDateTime, fmtNumber} from './i18n.js';

// The API and the server's clock (api.js), for the views.
export {REQUEST_TIMEOUT_MS, api, getJSON, noteServerDate, onSessionEnded, serverNow, setCsrfToken}
  from './api.js';

// Seconds since an RFC 3339 time on the server's clock (null for none).
export function secondsSince(iso) {
  if (!iso) return null;
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return Math.max(0, (serverNow() - t) / 1000);
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
