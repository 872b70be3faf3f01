// Live trends: above the network, today per 15 minutes of the whole
// network or of a region picked in the list (GET /v1/trends), and the
// "worst halls now" by longest wait; in a hall's detail (detail.js asks
// hallElement), the same chart for that hall. A chart draws served and
// the mean number waiting per quarter today against the same weekday's
// typical served, which hqd computes from the rollups' hours (each hour's
// mean spread over its quarters, as the legend says). The rollups hold no
// count of customers waiting, so waiting has no typical line, and the
// chart's note says so. The axis reads the viewer's zone and language:
// each slot's start instant (`at`, when the halls share a zone) is
// formatted here; for halls of several zones it is each hall's local
// time. Only drawing is done here: every figure is hqd's.
//
// Every text of this part is the catalogue's (i18n.js, keys trend.*).

import {el, clear, fmtDuration, fmtNumber, secondsSince, worstLabel} from './util.js';
import {fmtDay, fmtHourMinute, t} from './i18n.js';
import {fetchChartView, resetChartView, SERIES} from './chartlib.js';

const WORST_SHOWN = 5;
const REFRESH_MS = 60000;
const NETWORK = 'network';
const WAITING_COLOUR = '#d6332c';

const fmt1 = (v) => (v === null || v === undefined ? '–' : fmtNumber(Math.round(v * 10) / 10));
const viewerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

// One small chart of a scope ("network", "region:C1", "hall:H1"): its
// element is kept while the scope is shown, fetched again every REFRESH_MS
// while it is in the page.
class TrendChart {
  // `hoursPerTick`: the axis names every so many hours (a narrow chart
  // fewer).
  constructor(id, title, hoursPerTick) {
    this.hoursPerTick = hoursPerTick;
    this.scope = null;
    this.chart = null;
    this.body = null;
    this.fetched = 0;
    this.inflight = false;
    this.canvas = el('canvas', {id: `${id}-chart`, role: 'img', 'aria-label': t('trend.chartLabel')});
    this.box = el('div', {class: 'chart-box trend-box'}, this.canvas);
    this.summary = el('p', {class: 'trend-sum'});
    this.note = el('p', {class: 'note trend-note'});
    this.section = el('section', {id, class: 'trend-chart', 'aria-label': t('trend.chartLabel')},
      title ? el('h3', {text: title}) : null, this.summary, this.box, this.note);
  }

  // `fetch` false: the frame only, its answer asked at the next refresh().
  show(scope, fetch = true) {
    if (scope !== this.scope) {
      this.scope = scope;
      resetChartView(this, 'scope', scope, t('app.loading'));
    }
    if (fetch) this.refresh();
    return this.section;
  }

  refresh() {
    if (!this.scope || this.inflight || Date.now() - this.fetched < REFRESH_MS) return;
    this._fetch(this.scope);
  }

  _fetch(scope) {
    return fetchChartView(this, `/v1/trends?scope=${encodeURIComponent(scope)}`,
      () => scope === this.scope, t('trend.notServed'), (why) => t('trend.failed', {why}));
  }

  _draw(b, Chart) {
    const slots = b.slots || [];
    const now = b.now_slot;
    const mixed = !b.zone;
    // The axis: each quarter's start in the viewer's zone and language, or
    // the halls' own local time when they have several zones.
    const labels = slots.map((s) => (s.at && !mixed ? fmtHourMinute(s.at) : s.start));
    const served = slots.map((s) => s.served);
    const waiting = slots.map((s) => s.waiting);
    const typical = slots.map((s) => s.typical_served);
    const sum = (a) => a.slice(0, now + 1).reduce((x, v) => x + (v || 0), 0);
    const anyTypical = typical.some((v) => v !== null && v !== undefined);
    this.section.dataset.date = b.date || '';
    this.section.dataset.served = String(sum(served));
    this.summary.textContent = [
      b.date ? fmtDay(b.date) : null,
      t('trend.servedSoFar', {n: fmt1(sum(served))}),
      anyTypical ? t('trend.typicalSoFar', {n: fmt1(sum(typical))}) : null,
      b.filtered ? t('trend.yourPart') : null,
    ].filter(Boolean).join(' · ');
    const notes = [
      mixed ? t('trend.mixedZones') : t('trend.zones', {viewer: viewerZone(), halls: b.zone}),
      anyTypical ? t('trend.typicalHow', {n: b.weeks}) : t('trend.noTypical'),
      t('trend.noTypicalWaiting'),
    ];
    if (slots.some((s) => s.gap || s.source === 'rollups')) notes.push(t('trend.gap'));
    // One sentence a span: each is one text of the catalogue.
    clear(this.note);
    for (const n of notes) this.note.append(el('span', {text: n}), ' ');
    this.box.hidden = !Chart;
    if (this.chart) this.chart.destroy();
    this.chart = null;
    if (!Chart) return;
    this.chart = new Chart(this.canvas, {
      type: 'line',
      data: {labels, datasets: [
        {label: t('trend.servedToday'), data: served, borderColor: SERIES.served,
          backgroundColor: SERIES.served, pointRadius: 0, borderWidth: 2, yAxisID: 'y'},
        {label: t('trend.typicalServed'), data: typical, borderColor: SERIES.typical,
          backgroundColor: SERIES.typical, borderDash: [4, 3], pointRadius: 0, borderWidth: 2, yAxisID: 'y'},
        // Points as well: a quarter sampled alone (the one now, after a
        // restart) is a point without a line.
        {label: t('trend.waitingToday'), data: waiting, borderColor: WAITING_COLOUR,
          backgroundColor: WAITING_COLOUR, pointRadius: 2, borderWidth: 1.5, yAxisID: 'y1'},
      ]},
      options: {
        responsive: true, maintainAspectRatio: false, spanGaps: false,
        interaction: {mode: 'index', intersect: false},
        scales: {
          x: {ticks: {autoSkip: false, maxRotation: 0,
            callback: (v, i) => (i % (4 * this.hoursPerTick) === 0 ? labels[i] : null)}},
          y: {beginAtZero: true, position: 'left', title: {display: true, text: t('trend.axisServed')}},
          y1: {beginAtZero: true, position: 'right', grid: {drawOnChartArea: false},
            title: {display: true, text: t('trend.axisWaiting')}},
        },
        plugins: {legend: {position: 'bottom', labels: {boxWidth: 12, font: {size: 11}}}},
      },
    });
  }

  close() {
    this.scope = null;
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }
}

export class Trends {
  constructor(root, {onOpenHall}) {
    this.root = root;
    this.net = null;
    this.scopes = el('select', {id: 'trend-scope', 'aria-label': t('trend.scope')});
    this.chart = new TrendChart('trend-network', null, 2);
    this.hallChart = new TrendChart('trend-hall', t('trend.hallTitle'), 4);
    this.list = el('ol', {class: 'worst-halls', id: 'worst-halls'});
    this.note = el('p', {class: 'note'});
    root.append(
      el('div', {class: 'trend-head'}, el('h3', {text: t('trend.today')}),
        el('label', {class: 'trend-pick'}, el('span', {text: t('trend.scope')}), this.scopes)),
      this.chart.section,
      el('h3', {text: t('trend.worstNow')}), this.note, this.list);
    this.scopes.addEventListener('change', () => this.chart.show(this._scope()));
    this.list.addEventListener('click', (e) => {
      const b = e.target.closest('[data-open-hall]');
      if (b) onOpenHall(b.dataset.openHall);
    });
  }

  _scope() {
    const v = this.scopes.value;
    return v && v !== NETWORK ? `region:${v}` : NETWORK;
  }

  // The regions the person sees, provinces then their cities, in the list.
  _fillScopes() {
    const keep = this.scopes.value || NETWORK;
    clear(this.scopes);
    this.scopes.append(el('option', {value: NETWORK,
      text: this.net && this.net.scoped ? t('trend.networkPart') : t('trend.network')}));
    const regions = this.net ? [...this.net.regions.values()] : [];
    const byName = (a, b) => (a.id < b.id ? -1 : 1);
    for (const p of regions.filter((r) => r.level === 'province').sort(byName)) {
      this.scopes.append(el('option', {value: p.id, text: `${p.name || p.id} (${p.id})`}));
      for (const c of regions.filter((r) => r.level === 'city' && r.parent === p.id).sort(byName)) {
        this.scopes.append(el('option', {value: c.id, text: `\u2003${c.name || c.id} (${c.id})`}));
      }
    }
    // A city whose province the person does not see.
    const listed = new Set([...this.scopes.options].map((o) => o.value));
    for (const c of regions.filter((r) => r.level === 'city' && !listed.has(r.id)).sort(byName)) {
      this.scopes.append(el('option', {value: c.id, text: `${c.name || c.id} (${c.id})`}));
    }
    this.scopes.value = [...this.scopes.options].some((o) => o.value === keep) ? keep : NETWORK;
  }

  // `fetchNow` false (the page's first load): the chart's frame is shown
  // with the rest of the network view, and its answer and the charting
  // library are asked at the next tick(), after the first paint.
  setNetwork(net, fetchNow = true) {
    this.net = net;
    this.root.hidden = false;
    this._fillScopes();
    this.chart.show(this._scope(), fetchNow);
    if (fetchNow) this.tick();
  }

  // The chart of a hall, for its detail (the same element while it is open).
  hallElement(hall) {
    return this.hallChart.show(`hall:${hall}`);
  }

  // Once a second: the charts fetched again when due, and the halls ranked
  // again by their longest wait now.
  tick() {
    if (this.hallChart.section.isConnected) this.hallChart.refresh();
    if (!this.net || this.root.hidden) return;
    this.chart.refresh();
    const ranked = [];
    for (const h of this.net.halls.values()) if (h.oldestMs) ranked.push(h);
    ranked.sort((a, b) => a.oldestMs - b.oldestMs || (a.id < b.id ? -1 : 1));
    const top = ranked.slice(0, WORST_SHOWN);
    const key = top.map((h) => `${h.id}:${h.oldestMs}:${h.tile.waiting}:${h.tile.worst}`).join('|');
    this.note.textContent = top.length ? '' : t('trend.nobodyWaits');
    if (key === this.key) {
      for (const s of this.list.querySelectorAll('[data-since]')) {
        s.textContent = fmtDuration(secondsSince(Number(s.dataset.since)));
      }
      return;
    }
    this.key = key;
    clear(this.list);
    for (const h of top) {
      this.list.append(el('li', {data: {hall: h.id, worst: h.tile.worst || ''}},
        el('button', {type: 'button', class: 'a-hall', data: {openHall: h.id}, text: h.id,
          'aria-label': t('alert.openHall', {hall: h.id})}),
        h.tile.name ? el('span', {class: 'hname', text: h.tile.name}) : null,
        el('span', {class: `badge w-${h.tile.worst || 'offline'}`, text: worstLabel(h.tile.worst)}),
        el('span', {text: t('trend.waitingLongest', {n: fmtNumber(h.tile.waiting | 0)})}),
        el('b', {data: {since: String(h.oldestMs)}, text: fmtDuration(secondsSince(h.oldestMs))})));
    }
  }
}
