// Every text a person reads in the dashboard comes from here: one message
// catalogue per language (i18n/zh-CN.js, i18n/en.js, and the editors' pair
// i18n/editors.zh-CN.js, i18n/editors.en.js, merged in), the language in use
// (Chinese first; ?lang= in the address, then what the person chose before,
// kept in localStorage), the switch in the header, and numbers, dates, times
// and durations formatted in that language with Intl, in the viewer's own
// time zone. Not here: what any view shows (each view asks t() for its
// words) or data (names of halls, regions and people are shown as they are).
//
// hqd writes the catalogue of the language it is asked in into the page
// it serves (api.js: served); only another language's is loaded from its
// files. A catalogue is an ES module whose default export maps a key to a text,
// one "key": "text" pair a line; {name} in a text is a placeholder that
// t(key, {name: ...}) fills. A text that puts a count before a noun is one
// form per plural category of the language ("key": {"one": "{n} hall",
// "other": "{n} halls"}); t() picks the form by the count {n}. docs/DASHBOARD.md gives the format and the
// check (tests/unit/check_catalogues.py) that every catalogue of a pair has
// the same keys and placeholders.

import {served} from './api.js';

export const LANGS = ['zh-CN', 'en'];
export const DEFAULT_LANG = 'zh-CN';
const STORE_KEY = 'hallbus.lang';

// The catalogue files of one language: the page's own, then each part
// another module adds (its keys start with the part's name and a dot, so
// that no part can shadow another's). A part that is not served is skipped.
const PARTS = ['', 'editors.'];

function pick() {
  try {
    const q = new URLSearchParams(location.search).get('lang');
    if (LANGS.includes(q)) {
      localStorage.setItem(STORE_KEY, q);
      return q;
    }
    const s = localStorage.getItem(STORE_KEY);
    if (LANGS.includes(s)) return s;
  } catch (e) {
    // localStorage refused (a private window's policy): the default.
  }
  return DEFAULT_LANG;
}

export const lang = pick();
document.documentElement.lang = lang;

// hqd writes the texts of one language into the page (hqd/api/page.c):
// that of ?lang=, else of this cookie, else the default. The cookie tells
// it the choice kept in localStorage, so that the next page comes with the
// right texts. It names a language and nothing else.
const LANG_COOKIE = 'hb_lang';
if (served.lang !== lang || !document.cookie.split('; ').includes(`${LANG_COOKIE}=${lang}`)) {
  document.cookie = `${LANG_COOKIE}=${lang}; path=/; max-age=31536000; samesite=strict`;
}

async function loadPart(part, l) {
  try {
    const m = await import(`./i18n/${part}${l}.js`);
    return m.default || {};
  } catch (e) {
    if (part === '') console.error(`i18n: the catalogue ${l} could not be loaded`, e);
    return {};
  }
}

// The texts hqd wrote into the page when they are of this language (all
// parts, merged as below); else the parts are asked side by side (one
// round trip, not one each), then merged in PARTS' order.
const catalogue = {};
const writtenIn = served.lang === lang && served.texts && typeof served.texts === 'object';
const parts = writtenIn ? [] : await Promise.all(PARTS.map((part) => loadPart(part, lang)));
if (writtenIn) Object.assign(catalogue, served.texts);
for (const [i, part] of parts.length ? PARTS.entries() : []) {
  const c = parts[i];
  for (const [k, v] of Object.entries(c)) {
    if (part && !k.startsWith(part)) {
      console.error(`i18n: ${part}${lang}.js key ${k} does not start with ${part}`);
      continue;
    }
    catalogue[k] = v;
  }
}

// Keys asked for that no catalogue holds (a test reads it): the page shows
// the key itself, which the browser test finds as a text of no catalogue.
export const missing = new Set();

// The language's plural categories ('one' and 'other' in English, only
// 'other' in Chinese, which counts with measure words: "3 家营业厅").
const plurals = new Intl.PluralRules(lang);

// The form of the plural text `forms` for the count params.n (a number,
// written as fmtNumber writes it). A count that is no number, or a form
// the text lacks, is kept in `missing` (as "key.form") and reads as the
// 'other' form.
function pluralForm(key, forms, params) {
  const n = params ? params.n : undefined;
  if (typeof n !== 'number') {
    missing.add(`${key}.{n}`);
    return {s: forms.other, params};
  }
  const form = plurals.select(n);
  if (forms[form] === undefined) missing.add(`${key}.${form}`);
  return {s: forms[form] ?? forms.other, params: {...params, n: fmtNumber(n)}};
}

// The text of `key` with its {placeholders} filled from `params`; a
// plural text's form chosen by the count params.n.
export function t(key, params) {
  let s = catalogue[key];
  if (s !== null && typeof s === 'object') ({s, params} = pluralForm(key, s, params));
  if (s === undefined) {
    missing.add(key);
    return key;
  }
  if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (p in params ? String(params[p]) : m));
  return s;
}
// Whether the catalogue holds `key` (for texts picked by a name the API
// sends, such as an alert's kind, which a newer hqd may add to).
export const has = (key) => key in catalogue;
// The whole catalogue in use, for the browser test's check.
export const texts = () => ({...catalogue});

// Switches the page's language: remembered, written into the address (so
// that a ?lang= there does not undo the choice), and the page loaded again
// in it: every view starts over with the new words.
export function setLang(l) {
  if (!LANGS.includes(l) || l === lang) return;
  try {
    localStorage.setItem(STORE_KEY, l);
  } catch (e) {
    // not remembered; the address still carries it
  }
  const u = new URL(location.href);
  u.searchParams.set('lang', l);
  location.replace(u.toString());
}

// The switch in the header: one button per language, the current pressed.
export function mountSwitch(box) {
  box.replaceChildren();
  for (const l of LANGS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.lang = l;
    b.lang = l;
    b.textContent = t(`lang.${l}`);
    b.setAttribute('aria-pressed', String(l === lang));
    b.addEventListener('click', () => setLang(l));
    box.append(b);
  }
}

// Fills the page's fixed texts: an element with data-i18n="key" gets the
// text, one with data-i18n-attr="title:key;aria-label:key" the attributes.
export function applyStatic(root = document) {
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of e.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((x) => x.trim());
      if (attr && key) e.setAttribute(attr, t(key));
    }
  }
}

// ---- formatting in the language in use, in the viewer's time zone

const numberFormat = new Intl.NumberFormat(lang);
export function fmtNumber(n, digits) {
  if (n === null || n === undefined || (typeof n === 'number' && !Number.isFinite(n))) return '–';
  if (digits === undefined) return numberFormat.format(n);
  return new Intl.NumberFormat(lang, {minimumFractionDigits: digits, maximumFractionDigits: digits})
    .format(n);
}
const percentFormat = new Intl.NumberFormat(lang, {style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1});
export function fmtPercent(ratio) {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio)
    ? '–' : percentFormat.format(ratio);
}

function toDate(x) {
  if (x === null || x === undefined || x === '') return null;
  const d = x instanceof Date ? x : new Date(x);
  return Number.isNaN(d.getTime()) ? null : d;
}
const timeFormat = new Intl.DateTimeFormat(lang, {hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false});
const hmFormat = new Intl.DateTimeFormat(lang, {hour: '2-digit', minute: '2-digit', hour12: false});
const dateTimeFormat = new Intl.DateTimeFormat(lang, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const dateFormat = new Intl.DateTimeFormat(lang, {year: 'numeric', month: 'short', day: 'numeric'});
const shortDateFormat = new Intl.DateTimeFormat(lang, {month: 'short', day: 'numeric'});
const weekdayFormat = new Intl.DateTimeFormat(lang, {weekday: 'short', month: 'short', day: 'numeric'});
const fmtWith = (f) => (x) => {
  const d = toDate(x);
  return d ? f.format(d) : (x ? String(x) : '–');
};
export const fmtTime = fmtWith(timeFormat);            // 14:05:09
export const fmtHourMinute = fmtWith(hmFormat);        // 14:05
export const fmtDateTime = fmtWith(dateTimeFormat);    // 11月3日 14:05:09 / Nov 3, 14:05:09
export const fmtDate = fmtWith(dateFormat);            // 2025年11月3日 / Nov 3, 2025
export const fmtShortDate = fmtWith(shortDateFormat);  // 11月3日 / Nov 3
export const fmtWeekday = fmtWith(weekdayFormat);      // 11月3日周一 / Mon, Nov 3
// A calendar date (YYYY-MM-DD, no zone): the date as written, not shifted
// by the viewer's zone.
export function fmtDay(ymd, withYear = false) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return ymd ? String(ymd) : '–';
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
  return (withYear ? dateFormat : shortDateFormat).format(d);
}

// Seconds as people read a duration: "2 h 15 min" / "2小时15分", "45 s" /
// "45秒", "20 min" / "20分钟" (a lone 分 would read as points), "3 d 4 h" /
// "3天4小时"; never raw seconds past a minute.
export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  s = Math.max(0, Math.round(s));
  if (s < 60) return t('dur.s', {s});
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? t('dur.ms', {m, s: s % 60}) : t('dur.m', {m});
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? t('dur.hm', {h, m: m % 60}) : t('dur.h', {h});
  const d = Math.floor(h / 24);
  return h % 24 ? t('dur.dh', {d, h: h % 24}) : t('dur.d', {d});
}
