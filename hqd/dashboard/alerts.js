// The alert feed: open alerts and recent history, newest first, kept live
// from the stream's "alert" events (drawn once per frame with the tiles).
// It holds at most FEED_MAX entries in the page; the open alerts are also
// kept by id for the hall detail and the count. On a head office without the
// alerts route (404) it says so and still shows alerts the stream brings.

import {el, clear, fmtDateTime, getJSON, routeMissing} from './util.js';

export const FEED_MAX = 200;
const HISTORY_LOAD = 100;

export const KIND_LABEL = {
  hall_offline: 'Hall offline',
  hall_not_open: 'Not open on time',
  no_counter_open: 'No counter open',
  wait_sla: 'Wait over the SLA',
  diversion: 'Too many waiting',
  device_fault: 'Device fault',
  complaint_ack_overdue: 'Complaint not acknowledged',
  complaint_resolve_overdue: 'Complaint not resolved',
};

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
      this._note('This head office does not serve alerts yet (GET /v1/alerts answered 404). ' +
        'Alerts the change stream brings still appear here.');
      return;
    }
    if (open.status !== 200 || !open.body) {
      this._note('The alerts could not be loaded; live alerts still appear here.');
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
    if (!this.items.size) this._note('No alert is open, and none was raised recently.');
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
    const kind = KIND_LABEL[a.kind] || a.kind || 'alert';
    const when = state === 'cleared' ? a.cleared : a.raised;
    const li = el('li', {class: `alert ${state}${live ? ' new' : ''}`,
      data: {alertId: id, hall: a.hall || '', state, kind: a.kind || ''}},
      el('div', {class: 'a-head'},
        el('span', {class: 'a-state', text: state === 'cleared' ? 'cleared' : 'raised'}),
        el('time', {datetime: when || '', text: fmtDateTime(when)}),
        el('button', {type: 'button', class: 'a-hall', data: {openHall: a.hall || ''},
          'aria-label': `Open hall ${a.hall}`, text: a.hall || '?'})),
      el('div', {class: 'a-kind', text: a.subject ? `${kind} · ${a.subject}` : kind}),
      a.detail ? el('div', {class: 'a-detail', text: a.detail}) : null);
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
    this.countEl.textContent = String(this.open.size);
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
