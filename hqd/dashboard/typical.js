// "Today so far against the same weekday's typical", per local hour, in a
// hall's live view (detail.js): the hall's issued and served tickets of
// each hour of its own today as bars, and as lines the mean of the same
// weekday over the four weeks before (GET /v1/reports/typical; hqd counts
// both, the page only draws them). Fetched when the hall is opened and at
// most every REFRESH_MS after; its element is kept across the detail's
// redraws, so the chart is not drawn again with every tile change.
//
// Every text of this part is the catalogue's (i18n.js, keys typ.*).

import {el, clear, fmtNumber} from './util.js';
import {fmtDay, t as tr} from './i18n.js';
import {fetchChartView, resetChartView, SERIES} from './chartlib.js';

const REFRESH_MS = 60000;

const t = (k, params) => tr(`typ.${k}`, params);
const fmt1 = (v) => (v === null || v === undefined ? '–' : fmtNumber(Math.round(v * 10) / 10));

export class TypicalToday {
  constructor() {
    this.hall = null;
    this.fetched = 0;
    this.inflight = false;
    this.chart = null;
    this.body = null; // the last answer
    this.canvas = el('canvas', {id: 'typical-chart', role: 'img', 'aria-label': t('title')});
    this.note = el('p', {class: 'note'});
    this.summary = el('p', {class: 'typical-sum'});
    this.tableBox = el('details', {class: 'rep-data'});
    this.box = el('div', {class: 'chart-box small'}, this.canvas);
    this.section = el('section', {id: 'detail-typical', 'aria-label': t('title')},
      el('h3', {text: t('title')}), this.summary, this.note, this.box, this.tableBox);
  }

  // The section for `hall` (the same element each time), fetched again
  // when it is new or older than REFRESH_MS.
  element(hall) {
    if (hall !== this.hall) {
      this.hall = hall;
      resetChartView(this, 'hall', hall, '…');
      clear(this.tableBox);
    }
    if (!this.inflight && Date.now() - this.fetched >= REFRESH_MS) this._fetch(hall);
    return this.section;
  }

  _fetch(hall) {
    return fetchChartView(this, `/v1/reports/typical?hall=${encodeURIComponent(hall)}`,
      () => hall === this.hall, t('notServed'), (why) => t('failedWhy', {why}));
  }

  _draw(b, Chart) {
    this.section.dataset.date = b.date || '';
    const wd = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].includes(b.weekday) ? t(`wd.${b.weekday}`) : b.weekday;
    this.summary.textContent = [fmtDay(b.date, true), wd,
      t('issuedVs', {n: fmtNumber(b.issued), typical: fmt1(b.typical_issued)}),
      t('servedVs', {n: fmtNumber(b.served), typical: fmt1(b.typical_served)}),
      b.local_hour !== null ? t('soFar') : null].filter(Boolean).join(' · ');
    this.note.textContent = b.compared && b.compared.length
      ? t('comparedWith', {dates: b.compared.map((d) => fmtDay(d, true)).join(tr('app.listSep'))}) : t('noTypical');
    // Hours after the hall's current one have no figures yet: left empty.
    const upTo = b.local_hour === null || b.local_hour === undefined ? 23 : b.local_hour;
    const hours = b.hours || [];
    const labels = hours.map((h) => String(h.hour).padStart(2, '0'));
    const now = (f) => hours.map((h) => (h.hour <= upTo ? h[f] : null));
    this.box.hidden = !Chart;
    if (this.chart) this.chart.destroy();
    this.chart = null;
    if (Chart) {
      this.chart = new Chart(this.canvas, {
        data: {labels, datasets: [
          {type: 'bar', label: t('issuedToday'), data: now('issued'), backgroundColor: SERIES.issued, order: 2},
          {type: 'bar', label: t('servedToday'), data: now('served'), backgroundColor: SERIES.served, order: 2},
          {type: 'line', label: t('typicalIssued'), data: hours.map((h) => h.typical_issued),
            borderColor: SERIES.typical, backgroundColor: SERIES.typical, borderDash: [4, 3], pointRadius: 0, order: 1},
          {type: 'line', label: t('typicalServed'), data: hours.map((h) => h.typical_served),
            borderColor: '#4f5b66', backgroundColor: '#4f5b66', pointRadius: 0, order: 1},
        ]},
        options: {responsive: true, maintainAspectRatio: false, scales: {y: {beginAtZero: true}},
          plugins: {legend: {position: 'bottom', labels: {boxWidth: 12, font: {size: 11}}}}},
      });
    }
    clear(this.tableBox);
    const tb = el('table', {class: 'rep-table'});
    tb.append(el('thead', null, el('tr', null, ...[t('hour'), t('issuedToday'), t('typicalIssued'),
      t('servedToday'), t('typicalServed')].map((h) => el('th', {scope: 'col', text: h})))));
    const body = el('tbody');
    for (const h of hours) {
      if (!h.issued && !h.served && !h.typical_issued && !h.typical_served) continue;
      body.append(el('tr', null, ...[labels[h.hour], h.hour <= upTo ? fmtNumber(h.issued) : '–',
        fmt1(h.typical_issued), h.hour <= upTo ? fmtNumber(h.served) : '–', fmt1(h.typical_served)]
        .map((c) => el('td', {text: c}))));
    }
    tb.append(body);
    this.tableBox.append(el('summary', {text: t('table')}), tb);
  }

  close() {
    this.hall = null;
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }
}
