// The alert feed: open alerts and recent history, newest first, kept live
// from the stream's "alert" events (drawn once per frame with the tiles).
// It holds at most FEED_MAX entries in the page; the open alerts are also
// kept by id for the hall detail and the count. On a head office without the
// alerts route (404) it says so and still shows alerts the stream brings.

import {el, clear, fmtDateTime, fmtDuration, fmtNumber, getJSON, routeMissing} from './util.js';
import {has, t} from './i18n.js';
import {refusalWords} from './refusals.js';

export const FEED_MAX = 200;
const HISTORY_LOAD = 100;

// How each kind reads as parameters: the subject's parts (split at ':'),
// the names of its value and threshold. hqd sends them as `params` (from
// alert_kind_info, docs/ALERTS.md); an hqd that does not is read from
// `subject`, `value` and `threshold` by the same table.
const KIND_PARAMS = {
  hall_offline: [[], 'offline_s', 'grace_s'],
  hall_blocked: [[], 'blocked_s', null],
  stream_conflict: [[], 'seq', null],
  clock_skew: [[], 'skew_s', 'limit_s'],
  event_anomaly: [[], 'events', null],
  hall_not_open: [[], 'since_opening_s', 'grace_s'],
  no_counter_open: [[], 'for_s', 'grace_s'],
  wait_sla: [['service', 'priority'], 'wait_s', 'limit_s'],
  diversion: [['service'], 'waiting', 'threshold'],
  device_fault: [['device'], 'for_s', 'limit_s'],
  complaint_ack_overdue: [['complaint'], 'overdue_s', 'allowance_s'],
  complaint_resolve_overdue: [['complaint'], 'overdue_s', 'allowance_s'],
  disk_nearly_full: [['resource'], 'free_percent', 'min_free_percent'],
  document_refused: [['document', 'reason'], 'version', null],
  cert_expiring: [[], 'expires_in_s', 'warn_s'],
};

// The parameter a kind's sentence counts ("3 events stored with a flag"):
// the plural text's {n} (i18n.js).
const COUNTED = {event_anomaly: 'events', hall_disk_full: 'refused_events'};

function paramsOf(a) {
  if (a.params && typeof a.params === 'object') return a.params;
  const row = KIND_PARAMS[a.kind];
  if (!row) return {value: a.value, threshold: a.threshold};
  const p = {};
  const parts = typeof a.subject === 'string' && a.subject ? a.subject.split(':') : [];
  // The last part takes the rest, as on the server (a reason may hold ':').
  if (parts.length > row[0].length && row[0].length) {
    parts.splice(row[0].length - 1, parts.length, parts.slice(row[0].length - 1).join(':'));
  }
  row[0].forEach((name, i) => {
    if (parts[i] !== undefined) p[name] = parts[i];
  });
  if (row[1]) p[row[1]] = a.value;
  if (row[2]) p[row[2]] = a.threshold;
  return p;
}

// The kind as a short title, in the page's language.
export const kindLabel = (kind) =>
  (has(`alert.kind.${kind}`) ? t(`alert.kind.${kind}`) : t('alert.kind.other', {kind: kind || '?'}));

// The alert as a sentence in the page's language, from its kind and
// parameters: "等候超过 20分钟（A 业务）" / "waiting over 20 min (service A)".
// Durations (names ending in _s) read as durations, never raw seconds.
export function alertSentence(a) {
  const p = paramsOf(a);
  const v = {};
  for (const [k, x] of Object.entries(p)) {
    if (typeof x === 'number') v[k] = k.endsWith('_s') ? fmtDuration(x) : fmtNumber(x);
    else v[k] = x === null || x === undefined ? '–' : String(x);
  }
  const counted = p[COUNTED[a.kind]];
  if (COUNTED[a.kind]) v.n = typeof counted === 'number' ? counted : NaN;
  if (a.kind === 'wait_sla') {
    const name = has(`priority.${p.priority}`) ? t(`priority.${p.priority}`) : p.priority;
    v.priority = p.priority ? t('alert.priority', {priority: name}) : '';
  }
  if (a.kind === 'disk_nearly_full' && has(`alert.resource.${p.resource}`)) {
    v.resource = t(`alert.resource.${p.resource}`);
  }
  if (a.kind === 'document_refused' && has(`alert.document.${p.document}`)) {
    v.document = t(`alert.document.${p.document}`);
  }
  // The hall's refusal code in the rollout's words; the hall's own text
  // (English) only for no code or one this page has no words for.
  if (a.kind === 'document_refused') v.reason = refusalWords(p.code, p.reason) ?? v.reason;
  if (has(`alert.say.${a.kind}`)) return t(`alert.say.${a.kind}`, v);
  return t('alert.say.other', {value: v.value ?? '–', threshold: v.threshold ?? '–'});
}

const whenOf = (a) => Date.parse(a.cleared || a.raised || '') || 0;

export class AlertFeed {
  constructor(list, countEl, {onOpenHall}) {
    this.list = list;
    this.countEl = countEl;
    this.onOpenHall = onOpenHall;
    this.items = new Map(); // alert id -> {alert, li}
    this.open = new Map(); // alert id -> alert
    this.pending = [];
    this.available = null; // unknown until loaded
    this.received = 0;
    list.addEventListener('click', (e) => {
      const b = e.target.closest('[data-open-hall]');
      if (b) this.onOpenHall(b.dataset.openHall);
    });
  }

  async load() {
    const [open, hist] = await Promise.all([
      getJSON('/v1/alerts?state=open'),
      getJSON(`/v1/alerts?state=history&limit=${HISTORY_LOAD}`),
    ]);
    if (routeMissing(open)) {
      this.available = false;
      this._note(t('alert.notServed'));
      return;
    }
    if (open.status !== 200 || !open.body) {
      this._note(t('alert.failed'));
      return;
    }
    this.available = true;
    this._removeNote();
    const all = [];
    const hs = hist.status === 200 && hist.body && Array.isArray(hist.body.alerts) ? hist.body.alerts : [];
    for (const a of hs) all.push(a);
    for (const a of open.body.alerts || []) all.push(a);
    // Oldest first, so the newest ends on top; an id seen twice keeps its
    // later record (an alert in history and open: open is newer).
    all.sort((x, y) => whenOf(x) - whenOf(y));
    for (const a of all) this._apply(a, false);
    this._trim();
    this._count();
    if (!this.items.size) this._note(t('alert.none'));
  }

  // From the stream: applied on the next frame.
  push(a) {
    if (!a || a.id === undefined || a.id === null) return;
    this.received++;
    this.pending.push(a);
    // A feed nobody draws (a hidden tab) keeps only the newest changes.
    if (this.pending.length > FEED_MAX * 5) this.pending.splice(0, this.pending.length - FEED_MAX);
  }

  flush() {
    if (!this.pending.length) return false;
    const batch = this.pending;
    this.pending = [];
    this._removeNote();
    for (const a of batch) this._apply(a, true);
    this._trim();
    this._count();
    return true;
  }

  forHall(hall) {
    return [...this.open.values()].filter((a) => a.hall === hall);
  }

  _apply(a, live) {
    const id = String(a.id);
    const cleared = a.state === 'cleared' || (!!a.cleared && a.state !== 'raised');
    const state = cleared ? 'cleared' : 'raised';
    if (cleared) this.open.delete(id);
    else this.open.set(id, a);
    const old = this.items.get(id);
    if (old) old.li.remove();
    const li = this._item(id, a, state, live);
    this.items.set(id, {alert: a, li});
    this.list.prepend(li);
  }

  _item(id, a, state, live) {
    const when = state === 'cleared' ? a.cleared : a.raised;
    const li = el('li', {class: `alert ${state}${live ? ' new' : ''}`,
      data: {alertId: id, hall: a.hall || '', state, kind: a.kind || ''}},
      el('div', {class: 'a-head'},
        el('span', {class: 'a-state', text: t(`alert.${state}`)}),
        el('time', {datetime: when || '', text: fmtDateTime(when)}),
        el('button', {type: 'button', class: 'a-hall', data: {openHall: a.hall || ''},
          'aria-label': t('alert.openHall', {hall: a.hall || '?'}), text: a.hall || '?'})),
      el('div', {class: 'a-kind', text: kindLabel(a.kind)}),
      el('div', {class: 'a-detail', text: alertSentence(a)}));
    return li;
  }

  _trim() {
    while (this.list.children.length > FEED_MAX) {
      const li = this.list.lastElementChild;
      if (li.dataset.alertId) this.items.delete(li.dataset.alertId);
      li.remove();
    }
  }

  _count() {
    this.countEl.textContent = fmtNumber(this.open.size);
  }

  _note(text) {
    this._removeNote();
    this.list.append(el('li', {class: 'feed-note', id: 'alert-feed-note', text}));
  }

  _removeNote() {
    const n = this.list.querySelector('#alert-feed-note');
    if (n) n.remove();
  }

  clearAll() {
    clear(this.list);
    this.items.clear();
    this.open.clear();
    this.pending = [];
  }
}
