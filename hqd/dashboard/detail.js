// One hall in detail (the #hall-detail panel): its day so far against the
// same weekday's typical (typical.js), its queue per service, its
// counters, open alerts, complaints, devices, the policy and calendar
// versions it runs against the published ones, and the campaigns of its
// calendar slice. Opened from a tile, an alert or the search; while open it
// is fetched again when the hall's tile changes (at most every
// REFRESH_MIN_MS) and every REFRESH_IDLE_MS, and its waits tick every second.

import {el, clear, fmtDuration, fmtDateTime, fmtNumber, getJSON, routeMissing, secondsSince,
  WORST_LABEL} from './util.js';
import {KIND_LABEL} from './alerts.js';
import {TypicalToday} from './typical.js';

const REFRESH_MIN_MS = 300;
const REFRESH_IDLE_MS = 5000;

const COUNTER_STATE = {
  idle: 'open, idle', calling: 'calling', serving: 'serving', paused: 'paused', closed: 'closed',
};

function table(caption, head, rows, empty) {
  if (!rows.length) return el('p', {class: 'note', text: empty});
  const t = el('table', null, el('caption', {class: 'sr', text: caption}));
  const thead = el('tr');
  for (const h of head) thead.append(el('th', {scope: 'col', text: h}));
  t.append(el('thead', null, thead));
  const tb = el('tbody');
  for (const r of rows) {
    const tr = el('tr', r.attrs || null);
    for (const c of r.cells) tr.append(c instanceof Node ? el('td', null, c) : el('td', {text: c}));
    tb.append(tr);
  }
  t.append(tb);
  return t;
}

// A wait that keeps counting: tick() rewrites every [data-since] each second.
function since(iso) {
  const s = secondsSince(iso);
  return el('span', {class: 'since', data: {since: iso || ''}, text: s === null ? '–' : fmtDuration(s)});
}

export class HallDetail {
  constructor(panel, body, closeBtn, {net, alerts, published, onClose, can}) {
    this.panel = panel;
    // What the person may read (app.js): a section they may not is said so,
    // its route not asked.
    this.can = can || {alerts: true, campaigns: true};
    this.body = body;
    this.net = net;
    this.alerts = alerts;
    this.published = published; // () => {policy, calendar} versions or null
    this.onClose = onClose;
    this.hall = null;
    this.token = 0;
    this.inflight = false;
    this.again = false;
    this.lastFetch = 0;
    this.timer = 0;
    this.idle = 0;
    this.renders = 0;
    this.typical = new TypicalToday(); // its element is kept across renders
    closeBtn.addEventListener('click', () => this.close());
    panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
    });
  }

  setNetwork(net) {
    this.net = net;
  }

  open(hall) {
    if (this.hall !== hall) {
      this.hall = hall;
      this.token++;
      clear(this.body);
      this.body.append(el('p', {class: 'note', text: `Loading ${hall}…`}));
    }
    this.panel.dataset.hall = hall;
    this.panel.hidden = false;
    this.panel.focus({preventScroll: true});
    clearInterval(this.idle);
    this.idle = setInterval(() => this.refresh(), REFRESH_IDLE_MS);
    this.refresh(true);
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.hall = null;
    this.token++;
    delete this.panel.dataset.hall;
    clearInterval(this.idle);
    clearTimeout(this.timer);
    this.timer = 0;
    clear(this.body);
    this.typical.close();
    this.onClose();
  }

  // The open hall's tile changed (called once per frame at most).
  changed(hall) {
    if (hall === this.hall) this.refresh();
  }

  tick() {
    if (this.panel.hidden) return;
    for (const s of this.body.querySelectorAll('[data-since]')) {
      const v = secondsSince(s.dataset.since);
      const text = v === null ? '–' : fmtDuration(v);
      if (s.textContent !== text) s.textContent = text;
    }
  }

  refresh(now) {
    if (!this.hall) return;
    if (this.inflight) {
      this.again = true;
      return;
    }
    const wait = now ? 0 : Math.max(0, this.lastFetch + REFRESH_MIN_MS - Date.now());
    if (wait > 0) {
      if (!this.timer) this.timer = setTimeout(() => {
        this.timer = 0;
        this.refresh(true);
      }, wait);
      return;
    }
    this._fetch();
  }

  async _fetch() {
    const hall = this.hall;
    const token = this.token;
    this.inflight = true;
    this.lastFetch = Date.now();
    const id = encodeURIComponent(hall);
    try {
      const [state, link, slice] = await Promise.all([
        getJSON(`/v1/halls/${id}/state`),
        getJSON(`/v1/halls/${id}`),
        this.can.campaigns ? getJSON(`/v1/calendar/slice/${id}`)
          : Promise.resolve({status: 403, body: null}),
      ]);
      if (token !== this.token) return;
      this._render(hall, state, link, slice);
    } finally {
      this.inflight = false;
      if (this.again && token === this.token) {
        this.again = false;
        this.refresh();
      }
    }
  }

  _render(hall, state, link, slice) {
    const h = this.net.halls.get(hall);
    const t = h ? h.tile : null;
    const s = state.status === 200 ? state.body : null;
    const frag = document.createDocumentFragment();

    const worst = t ? t.worst : 'offline';
    frag.append(el('h2', {id: 'hall-detail-title'}, hall,
      t && t.name ? el('span', {class: 'hname', text: ` ${t.name}`}) : null));
    const place = t && t.city
      ? `${this.net.regionName(t.city)} (${t.city}) · ${this.net.regionName(t.province)} (${t.province})`
      : 'not placed in a region';
    frag.append(el('p', {class: 'place', text: place}));
    frag.append(el('p', {class: 'status'},
      el('span', {class: `badge w-${worst}`, id: 'detail-worst', text: WORST_LABEL[worst] || worst}),
      ` ${t && t.online ? 'connected' : 'not connected'} · ${t && t.open ? 'open now' : 'closed now'}`,
      t && t.tags && t.tags.length ? ` · tags: ${t.tags.join(', ')}` : ''));

    const figs = el('dl', {class: 'figs'});
    const fig = (k, v) => figs.append(el('div', null, el('dt', {text: k}), el('dd', null, v)));
    fig('Waiting', fmtNumber(s ? s.waiting : t ? t.waiting : null));
    fig('Longest wait', t && t.oldest_issued ? since(t.oldest_issued) : 'nobody waits');
    fig('Counters busy / open', s ? `${s.counters_busy} / ${s.counters_open}` :
      t ? `${t.counters_busy} / ${t.counters_open}` : '–');
    if (s && s.today) {
      fig('Issued / served today', `${fmtNumber(s.today.issued)} / ${fmtNumber(s.today.served)}`);
      fig('Average wait today', fmtDuration(s.today.avg_wait_s));
      fig('Average service today', fmtDuration(s.today.avg_service_s));
    }
    if (t) fig('Events not yet at HQ', fmtNumber(t.backlog));
    frag.append(figs);
    // The typical day is a report: only for people who may read reports.
    if (this.can.reports) frag.append(this.typical.element(hall));

    if (!s) {
      frag.append(el('p', {class: 'note', text: state.status === 404
        ? 'Head office holds no event of this hall yet: no queue to show.'
        : 'The hall\'s live state could not be loaded; it is tried again shortly.'}));
    }

    // Queue per service, the waits counted from the oldest waiting ticket.
    const oldest = new Map();
    for (const k of (s && s.tickets) || []) {
      if (k.state !== 'waiting') continue;
      const cur = oldest.get(k.service);
      if (!cur || k.issued < cur) oldest.set(k.service, k.issued);
    }
    const svcRows = ((s && s.services) || []).map((v) => ({
      attrs: {data: {service: v.service}},
      cells: [v.service, fmtNumber(v.waiting), oldest.has(v.service) ? since(oldest.get(v.service)) : '–',
        fmtDuration(v.avg_wait_s), fmtDuration(v.avg_service_s), fmtNumber(v.served)],
    }));
    frag.append(el('section', {id: 'detail-services', 'aria-label': 'Queue per service'},
      el('h3', {text: 'Queue per service'}),
      table('Queue per service', ['Service', 'Waiting', 'Longest', 'Avg wait', 'Avg service', 'Served'],
        svcRows, s ? 'No service has had a ticket today.' : '–')));

    const ctrRows = ((s && s.counters) || []).map((c) => ({
      attrs: {data: {counter: c.counter, state: c.state}},
      cells: [c.counter, COUNTER_STATE[c.state] || c.state, c.staff || '–', c.ticket || '–',
        (c.services || []).join(' '), c.utilisation === undefined || c.utilisation === null
          ? '–' : `${Math.round(c.utilisation * 100)}%`, fmtNumber(c.served)],
    }));
    frag.append(el('section', {id: 'detail-counters', 'aria-label': 'Counters'},
      el('h3', {text: 'Counters'}),
      table('Counters', ['Counter', 'State', 'Staff', 'Ticket', 'Services', 'Utilisation', 'Served'],
        ctrRows, s ? 'No counter has opened today.' : '–')));

    const open = this.alerts.forHall(hall);
    frag.append(el('section', {id: 'detail-alerts', 'aria-label': 'Open alerts'},
      el('h3', {text: `Open alerts (${open.length})`}),
      open.length ? el('ul', null, ...open.map((a) => el('li', {data: {kind: a.kind || ''}},
        `${KIND_LABEL[a.kind] || a.kind}${a.subject ? ` · ${a.subject}` : ''} — since ${fmtDateTime(a.raised)}`,
        a.detail ? el('div', {class: 'a-detail', text: a.detail}) : null)))
        : el('p', {class: 'note', text: !this.can.alerts
          ? '你的角色不含告警查看(alerts.read)。Your roles do not include alerts.read.'
          : this.alerts.available === false ? 'Alerts are not served by this head office.' : 'None.'})));

    const cs = s && s.complaints ? s.complaints : {open: 0, overdue: 0, list: []};
    frag.append(el('section', {id: 'detail-complaints', 'aria-label': 'Complaints'},
      el('h3', {text: `Complaints (${cs.open} open, ${cs.overdue} overdue)`}),
      table('Complaints', ['Complaint', 'State', 'Severity', 'Category', 'Opened', 'Resolve by'],
        (cs.list || []).map((c) => ({
          attrs: {class: c.overdue ? 'overdue' : null},
          cells: [c.complaint || c.id, `${c.state}${c.overdue ? ' (overdue)' : ''}${c.escalation ? `, escalated to ${c.escalation}` : ''}`,
            c.severity, c.category, fmtDateTime(c.opened), fmtDateTime(c.resolve_due)],
        })), 'No open complaint.')));

    frag.append(el('section', {id: 'detail-devices', 'aria-label': 'Devices'},
      el('h3', {text: 'Devices'}),
      table('Devices', ['Device', 'Kind', 'State', 'Since', 'Detail'],
        ((s && s.devices) || []).map((d) => ({
          attrs: {class: d.state !== 'ok' ? 'bad' : null},
          cells: [d.device, d.kind || '–', d.state, since(d.since), d.detail || ''],
        })), 'No device has reported.')));

    frag.append(this._versions(t, link, s));
    frag.append(this._campaigns(slice));

    const scroll = this.panel.scrollTop;
    clear(this.body);
    this.body.append(frag);
    this.panel.scrollTop = scroll;
    this.renders++;
    this.panel.dataset.renders = String(this.renders);
  }

  _versions(t, link, s) {
    const pub = this.published();
    const run = {
      policy: link.status === 200 ? link.body.policy_version : t ? t.policy_version : null,
      calendar: link.status === 200 ? link.body.calendar_version : t ? t.calendar_version : null,
    };
    const sec = el('section', {id: 'detail-versions', 'aria-label': 'Policy and calendar versions'},
      el('h3', {text: 'Policy and calendar'}));
    const dl = el('dl', {class: 'figs'});
    for (const kind of ['policy', 'calendar']) {
      const v = run[kind];
      const p = pub && pub[kind] ? pub[kind].version : null;
      let status = '';
      if (p !== null && p !== undefined && v !== null && v !== undefined) {
        status = v >= p ? ' (the published one)' : ` (published: v${p}, ${t && t.online ? 'pending' : 'hall offline'})`;
      }
      dl.append(el('div', {data: {kind}}, el('dt', {text: kind === 'policy' ? 'Policy version' : 'Calendar version'}),
        el('dd', {text: v === null || v === undefined ? '–' : `v${v}${status}`})));
    }
    if (s && s.policy_version !== undefined) {
      dl.append(el('div', null, el('dt', {text: 'Versions in its events'}),
        el('dd', {text: `policy v${s.policy_version}, calendar v${s.calendar_version}`})));
    }
    sec.append(dl);
    return sec;
  }

  _campaigns(slice) {
    const sec = el('section', {id: 'detail-campaigns', 'aria-label': 'Campaigns'},
      el('h3', {text: 'Campaigns it runs'}));
    if (slice.status === 403) {
      sec.append(el('p', {class: 'note', text:
        '你的角色不含营销活动查看(campaign.read)。Your roles do not include campaign.read.'}));
    } else if (routeMissing(slice)) {
      sec.append(el('p', {class: 'note', text: 'This head office does not serve campaign calendars yet.'}));
    } else if (slice.status === 404) {
      sec.append(el('p', {class: 'note', text: 'No published calendar reaches this hall.'}));
    } else if (slice.status !== 200 || !slice.body) {
      sec.append(el('p', {class: 'note', text: 'The hall\'s calendar could not be loaded.'}));
    } else {
      const list = slice.body.campaigns || [];
      sec.append(el('p', {class: 'note', text: `Calendar slice v${slice.body.version}: ${list.length} campaign${list.length === 1 ? '' : 's'}.`}));
      if (list.length) {
        sec.append(el('ul', {class: 'campaigns'}, ...list.map((c) => el('li', {data: {campaign: c.id}},
          el('b', {text: c.title || c.id}), ` ${c.start} – ${c.end}`,
          el('span', {class: 'note', text: ` ${c.level || ''}${(c.channels || []).length ? ` · ${c.channels.join(', ')}` : ''}`})))));
      }
    }
    return sec;
  }
}
