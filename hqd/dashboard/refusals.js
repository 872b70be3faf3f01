// A rollout's refused halls with why, in the page's language: the list the
// Campaigns & rollout tab (calendar.js), the workspace's calendar (gantt.js)
// and its policy editor show under a kind's figures. The alerts sidebar
// words a document_refused alert with the same words (alerts.js). A
// refusal carries a stable code (the hall's applier's, or head office's
// own) worded from the catalogues, and its detail as the hall or HQ gave it
// (a member, a zone, a version: data, shown as it is). A hall of an older
// build sends no code, and a code this page does not know has no words:
// then the detail alone is the reason, as before. Not here: the figures
// themselves.

import {el} from './util.js';
import {t} from './editors-t.js';
import {has} from './i18n.js';

// The catalogue key of a refusal code's words, or null when there is none.
const whyKey = (code) => (code && /^[a-z_]{1,31}$/.test(code) && has(`editors.ro.why.${code}`)
  ? `ro.why.${code}` : null);

// A refusal's why as one line, its code's words then its detail; null when
// the code has none here (an older hall's refusal, a newer code): the
// caller shows the detail as it is.
export function refusalWords(code, detail) {
  const key = whyKey(code);
  if (!key) return null;
  return detail ? t('ro.whyAndDetail', {why: t(key), detail: t('ro.detail', {detail})}) : t(key);
}

// The refused halls of one kind's rollout (v.refusals of GET /v1/rollout
// with ?halls): the hall's own refusal (it received the document and its
// applier said no) or HQ's (it could not build or send it). Null when none
// is refused.
export function refusalList(v) {
  const list = v.refusals || [];
  if (!list.length) return null;
  return el('ul', {class: 'ro-refusals'}, ...list.map((r) => {
    const key = whyKey(r.code);
    const why = key
      ? [el('span', {class: 'ro-reason', data: {code: r.code}, text: t(key)}),
        r.reason ? el('span', {class: 'ro-detail', text: t('ro.detail', {detail: r.reason})}) : null]
      : [el('span', {class: 'ro-reason', text: r.reason || ''})];
    return el('li', {data: {hall: r.hall, by: r.by}},
      el('b', {text: r.hall}), ' ',
      el('span', {text: t(r.by === 'hall' ? 'ro.refusedByHall' : 'ro.refusedByHq', {v: r.version})}), ': ',
      ...why);
  }));
}
