// The editors' words (workspace.js, campaign-editor.js, policy-editor.js,
// gantt.js): t(key, params) looks a text up in the editors' catalogue of
// the page's language (i18n/editors.zh-CN.js, i18n/editors.en.js) and fills
// in {name} parameters. Chinese is the default; ?lang=en or ?lang=zh-CN in
// the address chooses, and the choice is remembered in localStorage. Not
// here: the rest of the dashboard's texts (their own catalogues), numbers
// and dates (Intl, with lang()).

import zh from './i18n/editors.zh-CN.js';
import en from './i18n/editors.en.js';

const CATALOGUES = {'zh-CN': zh, en};
const KEY = 'hallbus.lang';

function chooseLang() {
  let want = null;
  try {
    want = new URLSearchParams(location.search).get('lang');
    if (want && CATALOGUES[want]) localStorage.setItem(KEY, want);
    else want = localStorage.getItem(KEY);
  } catch (e) {
    want = null; // storage refused: the address or the default
  }
  return want && CATALOGUES[want] ? want : 'zh-CN';
}

let current = chooseLang();

export const lang = () => current;

export function setLang(l) {
  if (!CATALOGUES[l]) return;
  current = l;
  try {
    localStorage.setItem(KEY, l);
  } catch (e) {
    // not remembered; the page still switches
  }
}

// A key missing from the catalogue shows as itself, marked, so that the
// catalogue test and a person looking both see it.
export function t(key, params) {
  const text = CATALOGUES[current][key];
  if (text === undefined) return `⟦${key}⟧`;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
}

export const catalogues = CATALOGUES;

export function fmtDate(iso) {
  const d = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleDateString(current, {timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric'});
}

export function fmtWhen(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '–';
  return d.toLocaleString(current, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}
