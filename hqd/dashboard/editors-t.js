// The editors' words (workspace.js, campaign-editor.js, policy-editor.js,
// gantt.js): t(key, params) is i18n.js's t() for the key in the editors'
// part of the catalogue (i18n/editors.zh-CN.js, i18n/editors.en.js, whose
// keys start with "editors."), so the editors follow the page's language
// and its switch. Not here: the catalogue's loading and the language's
// choice (i18n.js), the rest of the dashboard's texts.

import {has, lang as pageLang, setLang as setPageLang, t as pageT} from './i18n.js';

const current = pageLang;

export const lang = () => current;

// Switches the page's language (i18n.js remembers it and loads the page
// again in it).
export function setLang(l) {
  setPageLang(l);
}

// A key missing from the editors' part shows as itself, marked, so that
// the catalogue test and a person looking both see it.
export function t(key, params) {
  const k = `editors.${key}`;
  return has(k) ? pageT(k, params) : `\u27e6${key}\u27e7`;
}

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
