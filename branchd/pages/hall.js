// What every hall page shares: pairing with a device token (?token=T kept
// in localStorage, taken out of the address bar, sent as the bearer token
// on every call), the message catalogues and the language switch (Chinese
// first, remembered), building elements without markup from data, the
// hall's live stream (Server-Sent Events read through fetch, so the token
// goes in a header, resumed with Last-Event-ID after a restart), and the
// words of a refusal (the server sends codes; the catalogue words them).
// Not here: what a page shows (kiosk.js, counter.js, ...).

import zh from './i18n/zh-CN.js';
import en from './i18n/en.js';

export const CATALOGUES = {'zh-CN': zh, en};
export const LANGS = ['zh-CN', 'en'];
const LANG_KEY = 'hb.lang';

// ------------------------------------------------------------ elements

// el('div', {class: 'x', data: {ticket: 'A001'}, text: '...'}, child, ...)
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
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export function clear(e) {
  while (e.firstChild) e.firstChild.remove();
  return e;
}

export function $(id) {
  return document.getElementById(id);
}

// ------------------------------------------------------------- language

let lang = localStorage.getItem(LANG_KEY);
if (!LANGS.includes(lang)) lang = 'zh-CN';
const langListeners = [];

export function currentLang() {
  return lang;
}

// Each language's plural categories ('one' and 'other' in English, only
// 'other' in Chinese), made when first asked.
const plurals = {};
const pluralOf = (l, n) => (plurals[l] ??= new Intl.PluralRules(l)).select(Number(n));

// The text of `key` in the current language (or `in`), with {name}
// replaced from `vars`; a text that counts ({one: ..., other: ...}) in the
// form of its count vars.n. A key missing from a catalogue shows as the
// key, which the catalogue test catches.
export function t(key, vars, inLang) {
  const l = inLang || lang;
  let s = CATALOGUES[l][key];
  if (s !== null && typeof s === 'object') s = s[pluralOf(l, vars?.n)] ?? s.other;
  if (s === undefined) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
  return s;
}

// Whether the catalogue has `key` (for codes from the server that may be new).
export function has(key) {
  return CATALOGUES[lang][key] !== undefined;
}

export function setLang(l) {
  if (!LANGS.includes(l) || l === lang) return;
  lang = l;
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
  for (const f of langListeners) f(l);
}

export function onLang(f) {
  langListeners.push(f);
}

// The switch every page shows: one button per language, each in its own
// language, the current one pressed.
export function langSwitch() {
  const box = el('div', {class: 'lang-switch', id: 'lang-switch', role: 'group'});
  const draw = () => {
    clear(box);
    for (const l of LANGS) {
      box.append(el('button', {
        type: 'button', class: 'lang' + (l === lang ? ' on' : ''), data: {lang: l},
        'aria-pressed': l === lang ? 'true' : 'false', lang: l,
        onclick: () => setLang(l),
      }, t('lang.self', null, l)));
    }
  };
  draw();
  onLang(draw);
  return box;
}

// A duration as a person reads a wait, in the current language.
export function fmtWait(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return t('wait.unknown');
  const m = Math.round(Math.max(0, s) / 60);
  if (m < 1) return t('wait.none');
  if (m < 60) return t('wait.minutes', {m});
  return t('wait.hours', {h: Math.floor(m / 60), m: m % 60});
}

export function fmtClock(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleTimeString(lang, {hour: '2-digit', minute: '2-digit'});
}

export function fmtDateTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang, {month: 'short', day: 'numeric', weekday: 'short',
                                 hour: '2-digit', minute: '2-digit'});
}

// ----------------------------------------------------------- the token

// Pairs this browser with the device token of `?token=`, once: kept under
// a key of the page's own (a tablet may be a counter terminal and its
// evaluator's test screen at once), then taken out of the address bar so
// that it is neither bookmarked nor shown over a shoulder.
export function pair(pageKey) {
  const key = 'hb.token.' + pageKey;
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (given) {
    localStorage.setItem(key, given);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + (url.search || '') + url.hash);
  }
  return localStorage.getItem(key) || '';
}

let token = '';
export function useToken(tk) {
  token = tk;
}

// A refusal's words: the catalogue's for its code, else a general one
// naming the code. The server's English `reason` is never shown.
export function refusal(status, body) {
  const code = body && typeof body.error === 'string' ? body.error : '';
  if (code && has('err.' + code)) return t('err.' + code, body);
  if (status === 0) return t('err.network');
  return t('err.other', {code: code || String(status)});
}

// One call of the hall's API: {status, body} (body null when not JSON).
// Never throws: a network failure is status 0.
export async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  let init = {method, headers, cache: 'no-store'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    const r = await fetch(path, init);
    let data = null;
    const type = r.headers.get('content-type') || '';
    if (type.includes('json')) data = await r.json().catch(() => null);
    return {status: r.status, body: data, headers: r.headers};
  } catch (e) {
    return {status: 0, body: null};
  }
}

// An image the API answers (the ticket's QR code) as a blob: URL, since an
// <img> cannot send the bearer token. The caller revokes it.
export async function apiImage(path) {
  try {
    const r = await fetch(path, {headers: token ? {Authorization: 'Bearer ' + token} : {}});
    if (!r.ok) return null;
    return URL.createObjectURL(await r.blob());
  } catch (e) {
    return null;
  }
}

// ------------------------------------------------------------ the stream

// Follows GET /v1/hall/events: `on.hall(view)` for every hall message,
// `on.event(type, ev)` for each event, `on.state(s)` with 'live' or
// 'down'. Counts the hall messages and the events in the probe, for every
// page alike. Resumes after the last id seen, so a restart of branchd loses no
// call; reconnects with a growing pause (at most 5 s). Returns a stop().
export function follow(on) {
  let lastId = null;
  let stopped = false;
  let ctrl = null;
  let pause = 500;
  const state = (s) => on.state && on.state(s);

  function dispatch(msg) {
    if (msg.id !== null) lastId = msg.id;
    if (!msg.data) return;
    let data;
    try {
      data = JSON.parse(msg.data);
    } catch (e) {
      return;
    }
    if (msg.event === 'hall') {
      probe.halls++;
      on.hall && on.hall(data);
    } else if (msg.event === 'gap') {
      on.gap && on.gap(data);
    } else {
      probe.events++;
      on.event && on.event(msg.event || 'message', data);
    }
  }

  async function once() {
    ctrl = new AbortController();
    const headers = {Accept: 'text/event-stream'};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    const r = await fetch('/v1/hall/events', {headers, signal: ctrl.signal, cache: 'no-store'});
    if (r.status === 401 || r.status === 403) {
      const body = await r.json().catch(() => null);
      on.refused && on.refused(r.status, body);
      throw new Error('refused');
    }
    if (!r.ok || !r.body) throw new Error('status ' + r.status);
    state('live');
    pause = 500;
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let msg = {id: null, event: null, data: ''};
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          dispatch(msg);
          msg = {id: null, event: null, data: ''};
          continue;
        }
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let v = c < 0 ? '' : line.slice(c + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'data') msg.data += (msg.data ? '\n' : '') + v;
        else if (field === 'event') msg.event = v;
        else if (field === 'id') msg.id = v;
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (e) {
        if (stopped) break;
      }
      state('down');
      await new Promise((res) => setTimeout(res, pause));
      pause = Math.min(5000, pause * 2);
    }
  })();
  return () => {
    stopped = true;
    if (ctrl) ctrl.abort();
  };
}

// --------------------------------------------------------------- pages

// The frame of a page: the heading, the language switch, a line saying
// whether the page follows the hall, and the place for a refusal. `draw`
// runs at every language change (the page draws itself the first time).
export function frame(page, draw) {
  document.body.dataset.page = page;
  document.documentElement.lang = lang;
  const head = el('header', {class: 'bar'},
    el('h1', {id: 'page-title'}),
    el('span', {id: 'hall-name', class: 'hall-name'}),
    el('span', {id: 'conn-state', class: 'conn', data: {state: 'down'}}),
    langSwitch());
  const notice = el('div', {id: 'notice', class: 'notice', role: 'alert', hidden: true});
  const main = el('main', {id: 'app'});
  document.body.append(head, notice, main);
  const titles = () => {
    document.title = t(page + '.title');
    $('page-title').textContent = t(page + '.title');
    $('conn-state').textContent = t('conn.' + $('conn-state').dataset.state);
  };
  onLang(() => {
    titles();
    draw();
  });
  titles();
  return main;
}

export function setConn(s) {
  const c = $('conn-state');
  if (!c) return;
  c.dataset.state = s;
  c.textContent = t('conn.' + s);
}

// Shows a refusal or a note for a while (0: until the next one).
let noticeTimer = null;
export function notify(text, kind, ms) {
  const n = $('notice');
  n.textContent = text;
  n.dataset.kind = kind || 'error';
  n.hidden = !text;
  clearTimeout(noticeTimer);
  if (text && ms !== 0) noticeTimer = setTimeout(() => (n.hidden = true), ms || 6000);
}

// Who this page's token is (GET /v1/me), or the refusal shown for good
// when the token is missing or not of the kind the page needs.
export async function whoAmI(kinds) {
  // A page that is refused does not follow the hall: it says so, and why.
  const refuse = (text, why) => {
    notify(text, 'error', 0);
    setConn('off');
    document.body.dataset.refused = why;
    return null;
  };
  if (!token) return refuse(t('err.no_token'), 'token');
  const r = await api('GET', '/v1/me');
  if (r.status !== 200 || !r.body) return refuse(refusal(r.status, r.body), 'token');
  if (kinds && !kinds.includes(r.body.kind))
    return refuse(t('err.wrong_kind', {kind: t('kind.' + r.body.kind)}), 'kind');
  const hn = $('hall-name');
  if (hn) hn.textContent = r.body.hall_name || r.body.hall || '';
  return r.body;
}

// The name of service `code` as the hall configured it (GET /v1/services):
// a service's name is the hall's data, in the hall's language, not a text
// of the pages.
export function serviceName(services, code) {
  const s = (services || []).find((x) => x.service === code);
  return s && s.name ? s.name : code;
}

// The hall's live figures of service `code` (GET /v1/hall's services), or
// null while it has none.
export function serviceFigures(hall, code) {
  return (hall && hall.services || []).find((x) => x.service === code) || null;
}

// A table of the hall's services (GET /v1/services), a row each in their
// order: the service's name, then the cells `cells(figures)` makes of its
// figures (serviceFigures, or only the code). The counter's queue and the
// display's waiting list.
export function serviceTable(id, heads, services, hall, cells) {
  const tb = el('table', {id}, el('tr', null, heads.map((h) => el('th', null, h))));
  for (const svc of services) {
    const s = serviceFigures(hall, svc.service) || {service: svc.service};
    tb.append(el('tr', {data: {service: s.service}}, el('td', null, serviceName(services, s.service)),
      cells(s)));
  }
  return tb;
}

// Hooks for the browser tests: what the page did, read through WebDriver.
export const probe = (window.hbPage = window.hbPage || {ready: false, events: 0, halls: 0});
