// One hall in detail (the #hall-detail panel): its day so far against the
// same weekday's typical (typical.js), its queue per service, its
// counters, open alerts, complaints, devices, the policy and calendar
// versions it runs against the published ones, and the campaigns of its
// calendar slice. Opened from a tile, an alert or the search; while open it
// is fetched again when the hall's tile changes (at most every
// REFRESH_MIN_MS) and every REFRESH_IDLE_MS, and its waits tick every second.

import {el, clear, fmtDuration, fmtDateTime, fmtNumber, getJSON, routeMissing, secondsSince,
  worstLabel} from './util.js';
import {alertSentence, kindLabel} from './alerts.js';
import {fmtDay, fmtPercent, has, t as tr} from './i18n.js';
import {TypicalToday} from './typical.js';

const REFRESH_MIN_MS = 300;
const REFRESH_IDLE_MS = 5000;

// An API word (a counter's state, a complaint's severity) in the page's
// language, or as it is when the catalogue has no word for it.
const word = (group, v) => (v && has(`${group}.${v}`) ? tr(`${group}.${v}`) : (v || '–'));

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
  constructor(panel, body, closeBtn, {net, alerts, published, onClose, can, trends}) {
    this.panel = panel;
    this.trends = trends || null; // the hall's trend chart (trends.js)
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
      this.body.append(el('p', {class: 'note', text: tr('detail.loading', {hall})}));
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
      : tr('net.unplaced');
    frag.append(el('p', {class: 'place', text: place}));
    frag.append(el('p', {class: 'status'},
      el('span', {class: `badge w-${worst}`, id: 'detail-worst', text: worstLabel(worst)}),
      ` ${t && t.online ? tr('detail.connected') : tr('detail.notConnected')} · ${t && t.open ? tr('detail.openNow') : tr('detail.closedNow')}`,
      t && t.tags && t.tags.length ? ` · ${tr('detail.tags', {tags: t.tags.join(', ')})}` : ''));

    const figs = el('dl', {class: 'figs'});
    const fig = (k, v) => figs.append(el('div', null, el('dt', {text: k}), el('dd', null, v)));
    fig(tr('detail.waiting'), fmtNumber(s ? s.waiting : t ? t.waiting : null));
    fig(tr('detail.longest'), t && t.oldest_issued ? since(t.oldest_issued) : tr('net.nobodyWaits'));
    fig(tr('detail.counters'), s ? `${s.counters_busy} / ${s.counters_open}` :
      t ? `${t.counters_busy} / ${t.counters_open}` : '–');
    if (s && s.today) {
      fig(tr('detail.today'), `${fmtNumber(s.today.issued)} / ${fmtNumber(s.today.served)}`);
      fig(tr('detail.avgWait'), fmtDuration(s.today.avg_wait_s));
      fig(tr('detail.avgService'), fmtDuration(s.today.avg_service_s));
    }
    if (t) fig(tr('detail.backlog'), fmtNumber(t.backlog));
    frag.append(figs);
    // The typical day is a report: only for people who may read reports.
    if (this.can.reports) frag.append(this.typical.element(hall));
    if (this.trends && this.can.live) frag.append(this.trends.hallElement(hall));

    if (!s) {
      frag.append(el('p', {class: 'note', text: state.status === 404
        ? tr('detail.noEvents') : tr('detail.stateFailed')}));
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
    frag.append(el('section', {id: 'detail-services', 'aria-label': tr('detail.services')},
      el('h3', {text: tr('detail.services')}),
      table(tr('detail.services'), [tr('detail.col.service'), tr('detail.col.waiting'), tr('detail.col.longest'),
        tr('detail.col.avgWait'), tr('detail.col.avgService'), tr('detail.col.served')],
      svcRows, s ? tr('detail.noService') : '–')));

    const ctrRows = ((s && s.counters) || []).map((c) => ({
      attrs: {data: {counter: c.counter, state: c.state}},
      cells: [c.counter, word('counter', c.state), c.staff || '–', c.ticket || '–',
        (c.services || []).join(' '), c.utilisation === undefined || c.utilisation === null
          ? '–' : fmtPercent(Math.round(c.utilisation * 100) / 100), fmtNumber(c.served)],
    }));
    frag.append(el('section', {id: 'detail-counters', 'aria-label': tr('detail.countersTitle')},
      el('h3', {text: tr('detail.countersTitle')}),
      table(tr('detail.countersTitle'), [tr('detail.col.counter'), tr('detail.col.state'), tr('detail.col.staff'),
        tr('detail.col.ticket'), tr('detail.col.services'), tr('detail.col.utilisation'), tr('detail.col.served')],
      ctrRows, s ? tr('detail.noCounter') : '–')));

    const open = this.alerts.forHall(hall);
    frag.append(el('section', {id: 'detail-alerts', 'aria-label': tr('detail.alerts')},
      el('h3', {text: tr('detail.alertsN', {n: fmtNumber(open.length)})}),
      open.length ? el('ul', null, ...open.map((a) => el('li', {data: {kind: a.kind || ''}},
        tr('detail.alertSince', {kind: kindLabel(a.kind), time: fmtDateTime(a.raised)}),
        el('div', {class: 'a-detail', text: alertSentence(a)}))))
        : el('p', {class: 'note', text: !this.can.alerts ? tr('detail.noAlertsRole')
          : this.alerts.available === false ? tr('detail.alertsNotServed') : tr('detail.none')})));

    const cs = s && s.complaints ? s.complaints : {open: 0, overdue: 0, list: []};
    frag.append(el('section', {id: 'detail-complaints', 'aria-label': tr('detail.complaints')},
      el('h3', {text: tr('detail.complaintsN', {open: fmtNumber(cs.open), overdue: fmtNumber(cs.overdue)})}),
      table(tr('detail.complaints'), [tr('detail.col.complaint'), tr('detail.col.state'), tr('detail.col.severity'),
        tr('detail.col.category'), tr('detail.col.opened'), tr('detail.col.resolveBy')],
      (cs.list || []).map((c) => ({
        attrs: {class: c.overdue ? 'overdue' : null},
        cells: [c.complaint || c.id, [word('complaint', c.state), c.overdue ? tr('detail.overdue') : null,
          c.escalation ? tr('detail.escalated', {to: c.escalation}) : null].filter(Boolean).join(' · '),
        word('severity', c.severity), c.category || '–', fmtDateTime(c.opened), fmtDateTime(c.resolve_due)],
      })), tr('detail.noComplaint'))));

    frag.append(el('section', {id: 'detail-devices', 'aria-label': tr('detail.devices')},
      el('h3', {text: tr('detail.devices')}),
      table(tr('detail.devices'), [tr('detail.col.device'), tr('detail.col.kind'), tr('detail.col.state'),
        tr('detail.col.since'), tr('detail.col.detail')],
      ((s && s.devices) || []).map((d) => ({
        attrs: {class: d.state !== 'ok' ? 'bad' : null},
        cells: [d.device, word('deviceKind', d.kind), word('device', d.state), since(d.since), d.detail || ''],
      })), tr('detail.noDevice'))));

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
    const sec = el('section', {id: 'detail-versions', 'aria-label': tr('detail.versions')},
      el('h3', {text: tr('detail.versionsTitle')}));
    const dl = el('dl', {class: 'figs'});
    for (const kind of ['policy', 'calendar']) {
      const v = run[kind];
      const p = pub && pub[kind] ? pub[kind].version : null;
      let text = v === null || v === undefined ? '–' : tr('detail.version', {v});
      if (p !== null && p !== undefined && v !== null && v !== undefined) {
        text = v >= p ? tr('detail.versionIsPublished', {v})
          : tr('detail.versionBehind', {v, p, why: t && t.online ? tr('detail.pending') : tr('detail.hallOffline')});
      }
      dl.append(el('div', {data: {kind}}, el('dt', {text: kind === 'policy' ? tr('detail.policyVersion') : tr('detail.calendarVersion')}),
        el('dd', {text})));
    }
    if (s && s.policy_version !== undefined) {
      dl.append(el('div', null, el('dt', {text: tr('detail.eventVersions')}),
        el('dd', {text: tr('detail.eventVersionsAre', {policy: s.policy_version, calendar: s.calendar_version})})));
    }
    sec.append(dl);
    return sec;
  }

  _campaigns(slice) {
    const sec = el('section', {id: 'detail-campaigns', 'aria-label': tr('detail.campaigns')},
      el('h3', {text: tr('detail.campaignsTitle')}));
    if (slice.status === 403) {
      sec.append(el('p', {class: 'note', text: tr('cal.noCampaignRole')}));
    } else if (routeMissing(slice)) {
      sec.append(el('p', {class: 'note', text: tr('detail.sliceNotServed')}));
    } else if (slice.status === 404) {
      sec.append(el('p', {class: 'note', text: tr('detail.noSlice')}));
    } else if (slice.status !== 200 || !slice.body) {
      sec.append(el('p', {class: 'note', text: tr('detail.sliceFailed')}));
    } else {
      const list = slice.body.campaigns || [];
      sec.append(el('p', {class: 'note', text: tr('detail.slice', {v: slice.body.version, n: list.length})}));
      if (list.length) {
        sec.append(el('ul', {class: 'campaigns'}, ...list.map((c) => el('li', {data: {campaign: c.id}},
          el('b', {text: c.title || c.id}), ` ${fmtDay(c.start)} – ${fmtDay(c.end)}`,
          el('span', {class: 'note', text: ` ${word('level', c.level)}${(c.channels || []).length ? ` · ${c.channels.map((x) => word('channel', x)).join(tr('app.listSep'))}` : ''}`})))));
      }
    }
    return sec;
  }
}
