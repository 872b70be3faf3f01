// The Reports view (#view-reports): an analyst picks a scope (a region of
// the tree, or a hall found by id or name), a period (a day, an ISO week, a
// calendar month) and a date, and sees the KPI cards with the change
// against the previous period, charts over the period (issued and served,
// wait p50/p90, satisfaction: per hour for a day, per day for a week or a
// month), a ranking of the halls, the tables behind each chart, and CSV
// downloads of each. Every figure is one hqd computed (GET /v1/reports/kpi
// and /v1/reports/rank); the page only formats them. Charts are Chart.js
// (chartlib.js); without it the tables still show.
//
// Every text of the view is in TEXT below, Chinese first with English.

import {el, clear, fmtDateTime, fmtDuration, fmtNumber, getJSON, routeMissing, serverNow} from './util.js';
import {loadChart, SERIES} from './chartlib.js';

const TEXT = {
  scope: ['范围', 'Scope'],
  region: ['区域', 'Region'],
  hall: ['营业厅', 'Hall'],
  hallPlaceholder: ['编号或名称', 'id or name'],
  useHall: ['选定', 'Use'],
  noHall: ['找不到营业厅', 'no hall matches'],
  period: ['周期', 'Period'],
  day: ['日', 'Day'],
  week: ['周', 'Week'],
  month: ['月', 'Month'],
  date: ['日期', 'Date'],
  show: ['查询', 'Show'],
  loading: ['加载中…', 'Loading…'],
  failed: ['报表无法加载', 'The report could not be loaded'],
  rollupsOff: ['本总部未启用汇总，无报表', 'This head office keeps no rollups: no reports'],
  notServed: ['本总部不提供报表', 'This head office does not serve reports'],
  vsPrevious: ['较上期', 'vs previous'],
  noPrevious: ['上期无数据', 'no previous data'],
  final: ['已定稿', 'final'],
  notFinal: ['未定稿', 'not final yet'],
  revised: ['已修订', 'revised'],
  behind: ['汇总未完成', 'rollups catching up'],
  halls: ['营业厅数', 'halls'],
  volume: ['取号与办结', 'Issued and served'],
  wait: ['等候时间 P50 / P90', 'Wait p50 / p90'],
  satisfaction: ['满意度', 'Satisfaction'],
  rank: ['营业厅排名', 'Ranking of halls'],
  rankIn: ['排名范围', 'ranked within'],
  metric: ['指标', 'Metric'],
  best: ['最好', 'best'],
  worst: ['最差', 'worst'],
  noRank: ['该营业厅未归属城市，无排名', 'This hall is in no city: no ranking'],
  table: ['数据表', 'Data table'],
  csv: ['下载 CSV', 'Download CSV'],
  csvSummary: ['汇总 CSV', 'Summary CSV'],
  noCharts: ['未安装图表库 (libjs-chart.js)，仅显示数据表',
    'The charting library (libjs-chart.js) is not installed: tables only'],
  noData: ['该期间无数据', 'No data for this period'],
  hour: ['时段', 'Hour'],
  dayCol: ['日期', 'Day'],
  position: ['名次', 'Rank'],
  value: ['数值', 'Value'],
  name: ['名称', 'Name'],
  // The KPI fields (names as the API's).
  issued: ['取号', 'Issued'],
  served: ['办结', 'Served'],
  no_shows: ['过号', 'No-shows'],
  cancelled: ['取消/离开', 'Cancelled'],
  transferred: ['转移', 'Transferred'],
  wait_p50_s: ['等候 P50', 'Wait p50'],
  wait_p90_s: ['等候 P90', 'Wait p90'],
  wait_avg_s: ['平均等候', 'Average wait'],
  service_avg_s: ['平均办理', 'Average service'],
  service_p90_s: ['办理 P90', 'Service p90'],
  counter_utilisation: ['窗口利用率', 'Counter utilisation'],
  complaints_opened: ['投诉', 'Complaints'],
  complaints_resolved_in_sla: ['按时解决投诉', 'Resolved in time'],
  complaints_overdue: ['超时投诉', 'Complaints overdue'],
  satisfaction_avg: ['满意度均值', 'Satisfaction'],
  satisfaction_count: ['评价数', 'Scores'],
  no_show_rate: ['过号率', 'No-show rate'],
};
const t = (k) => (TEXT[k] ? `${TEXT[k][0]} ${TEXT[k][1]}` : k);

// The cards, in order, and how each is shown.
const CARDS = [
  ['issued', 'count', true], ['served', 'count', true], ['no_shows', 'count', false],
  ['cancelled', 'count', false], ['wait_p50_s', 'seconds', false], ['wait_p90_s', 'seconds', false],
  ['wait_avg_s', 'seconds', false], ['service_avg_s', 'seconds', false],
  ['counter_utilisation', 'ratio', true], ['satisfaction_avg', 'score', true],
  ['complaints_opened', 'count', false], ['complaints_overdue', 'count', false],
];
const RANK_METRICS = [
  ['wait_p90_s', 'seconds'], ['satisfaction_avg', 'score'], ['complaints_overdue', 'count'],
  ['served', 'count'], ['counter_utilisation', 'ratio'], ['no_show_rate', 'ratio'],
];
const RANK_LIMIT = 10;

function fmt(kind, v) {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '–';
  if (kind === 'seconds') return fmtDuration(v);
  if (kind === 'ratio') return `${(v * 100).toFixed(1)}%`;
  if (kind === 'score') return v.toFixed(2);
  return fmtNumber(v);
}

// Today on hqd's clock, as YYYY-MM-DD in the browser's zone.
function today() {
  const d = new Date(serverNow());
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function table(caption, head, rows) {
  const tb = el('table', {class: 'rep-table'}, el('caption', {class: 'sr', text: caption}));
  const tr = el('tr');
  for (const h of head) tr.append(el('th', {scope: 'col', text: h}));
  tb.append(el('thead', null, tr));
  const body = el('tbody');
  for (const r of rows) body.append(el('tr', null, ...r.map((c) => el('td', {text: c}))));
  tb.append(body);
  return tb;
}

export class Reports {
  // `net()` gives the page's current Network (region tree, halls).
  constructor(root, net) {
    this.root = root;
    this.net = net;
    this.built = false;
    this.charts = new Map(); // canvas id -> Chart
    this.token = 0;
    this.state = {scope: 'CN', period: 'day', date: today(), metric: 'wait_p90_s'};
    this.last = null; // the answers shown, for tests: {kpi, rows, rank}
  }

  // Shown for the first time: the controls, then the report.
  show() {
    if (!this.built) {
      this._build();
      this.built = true;
      this.load();
    } else {
      this._fillScopes();
    }
  }

  _build() {
    clear(this.root);
    const scopeSel = el('select', {id: 'rep-scope', 'aria-label': t('region')});
    const hallIn = el('input', {id: 'rep-hall', type: 'search', list: 'rep-halls', autocomplete: 'off',
      spellcheck: 'false', placeholder: t('hallPlaceholder'), 'aria-label': t('hall')});
    const hallList = el('datalist', {id: 'rep-halls'});
    const hallBtn = el('button', {type: 'button', id: 'rep-hall-use', text: t('useHall')});
    const periodSel = el('select', {id: 'rep-period', 'aria-label': t('period')},
      ...['day', 'week', 'month'].map((p) => el('option', {value: p, text: t(p)})));
    const dateIn = el('input', {id: 'rep-date', type: 'date', value: this.state.date, 'aria-label': t('date')});
    const showBtn = el('button', {type: 'submit', id: 'rep-show', text: t('show')});
    const form = el('form', {class: 'rep-controls', id: 'rep-form'},
      el('label', null, el('span', {text: t('region')}), scopeSel),
      el('label', null, el('span', {text: t('hall')}), hallIn, hallList), hallBtn,
      el('label', null, el('span', {text: t('period')}), periodSel),
      el('label', null, el('span', {text: t('date')}), dateIn),
      showBtn,
      el('span', {id: 'rep-note', class: 'note', role: 'status'}));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.load();
    });
    scopeSel.addEventListener('change', () => {
      this.state.scope = scopeSel.value;
      hallIn.value = '';
      this.load();
    });
    const useHall = () => {
      const id = this.net().find(hallIn.value.replace(/ — .*$/, ''));
      if (!id) {
        this.root.querySelector('#rep-note').textContent = `${t('noHall')} “${hallIn.value.trim()}”`;
        return;
      }
      this.state.scope = id;
      this.load();
    };
    hallBtn.addEventListener('click', useHall);
    hallIn.addEventListener('change', useHall);
    hallIn.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        useHall();
      }
    });
    periodSel.addEventListener('change', () => form.requestSubmit());
    dateIn.addEventListener('change', () => form.requestSubmit());

    this.head = el('div', {class: 'rep-head', id: 'rep-head'});
    this.cards = el('div', {class: 'rep-cards', id: 'rep-cards', 'aria-label': 'KPI'});
    this.chartsEl = el('div', {class: 'rep-charts'});
    this.panels = {};
    for (const [key, title] of [['volume', 'volume'], ['wait', 'wait'], ['satisfaction', 'satisfaction'],
      ['rank', 'rank']]) {
      const canvas = el('canvas', {id: `rep-chart-${key}`, role: 'img', 'aria-label': t(title)});
      const extra = key === 'rank'
        ? el('select', {id: 'rep-metric', 'aria-label': t('metric')},
          ...RANK_METRICS.map(([m]) => el('option', {value: m, text: t(m)})))
        : null;
      if (extra) extra.addEventListener('change', () => {
        this.state.metric = extra.value;
        this._loadRank(this.token);
      });
      const panel = {
        box: el('section', {class: 'rep-panel', id: `rep-${key}`, 'aria-label': t(title)},
          el('h3', null, el('span', {text: t(title)}), extra)),
        canvasBox: el('div', {class: 'chart-box'}, canvas),
        canvas,
        note: el('p', {class: 'note'}),
        table: el('details', {class: 'rep-data'}),
        csv: el('a', {class: 'rep-csv', text: t('csv')}),
      };
      panel.box.append(panel.note, panel.canvasBox, panel.table, panel.csv);
      this.panels[key] = panel;
      this.chartsEl.append(panel.box);
    }
    this.root.append(form, this.head, this.cards, this.chartsEl);
    this._fillScopes();
  }

  // The region tree into the select (depth shown by indentation), and
  // every hall into the search's list.
  _fillScopes() {
    const net = this.net();
    const sel = this.root.querySelector('#rep-scope');
    const kids = new Map();
    for (const r of net.regions.values()) {
      const p = r.parent && net.regions.has(r.parent) ? r.parent : '';
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(r);
    }
    const opts = [];
    const walk = (parent, depth) => {
      for (const r of (kids.get(parent) || []).sort((a, b) => (a.id < b.id ? -1 : 1))) {
        opts.push(el('option', {value: r.id, text: `${'\u3000'.repeat(depth)}${r.name || r.id} (${r.id})`}));
        walk(r.id, depth + 1);
      }
    };
    walk('', 0);
    if (!net.regions.has('CN')) opts.unshift(el('option', {value: 'CN', text: 'CN'}));
    clear(sel);
    for (const o of opts) sel.append(o);
    if (net.regions.has(this.state.scope) || this.state.scope === 'CN') sel.value = this.state.scope;
    const list = this.root.querySelector('#rep-halls');
    clear(list);
    for (const h of [...net.halls.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      list.append(el('option', {value: h.tile.name ? `${h.id} — ${h.tile.name}` : h.id}));
    }
  }

  _query(extra) {
    const s = this.state;
    const q = new URLSearchParams({scope: s.scope, period: s.period, date: s.date});
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }

  async load() {
    const token = ++this.token;
    // The period and date as the controls show them, whatever changed.
    const periodSel = this.root.querySelector('#rep-period');
    const dateIn = this.root.querySelector('#rep-date');
    this.state.period = periodSel.value || 'day';
    this.state.date = dateIn.value || today();
    const note = this.root.querySelector('#rep-note');
    note.textContent = t('loading');
    this.root.dataset.loaded = 'false';
    const by = this.state.period === 'day' ? 'hour' : 'day';
    const [kpi, rows, Chart] = await Promise.all([
      getJSON(`/v1/reports/kpi?${this._query()}`),
      getJSON(`/v1/reports/kpi?${this._query({by, previous: 'false'})}`),
      loadChart(),
    ]);
    if (token !== this.token) return;
    this.Chart = Chart;
    if (kpi.status !== 200 || !kpi.body) {
      const why = routeMissing(kpi) ? t('notServed')
        : kpi.status === 503 && kpi.body && kpi.body.error === 'rollups_off' ? t('rollupsOff')
          : `${t('failed')}: ${(kpi.body && kpi.body.reason) || kpi.status}`;
      note.textContent = why;
      clear(this.cards);
      clear(this.head);
      this.root.dataset.loaded = 'error';
      return;
    }
    note.textContent = Chart ? '' : t('noCharts');
    this.last = {kpi: kpi.body, rows: rows.status === 200 ? rows.body : null, rank: null};
    this._head(kpi.body);
    this._cards(kpi.body);
    this._series(rows.status === 200 ? rows.body : null, by);
    await this._loadRank(token);
    if (token !== this.token) return;
    this.root.dataset.loaded = 'true';
    this.root.dataset.scope = this.state.scope;
  }

  _head(k) {
    clear(this.head);
    const scopeName = k.name ? `${k.name} (${k.scope})` : k.scope;
    const range = k.from === k.to ? k.from : `${k.from} – ${k.to}`;
    let status = k.final ? t('final') : t('notFinal');
    if (k.revised_at) status += ` · ${t('revised')} ${fmtDateTime(k.revised_at)}`;
    if (k.rolled_up && !k.rolled_up.complete) status += ` · ${t('behind')}`;
    const csv = el('a', {class: 'rep-csv', id: 'rep-csv-summary', href: `/v1/reports/kpi?${this._query({format: 'csv'})}`,
      download: `report-${k.scope}-${k.period}-${k.from}.csv`, text: t('csvSummary')});
    this.head.append(el('h2', null, el('span', {id: 'rep-scope-name', text: scopeName}), ' · ',
      el('span', {text: `${t(k.period)} ${range}`})),
    el('p', {class: 'note'}, `${t('halls')}: ${fmtNumber(k.halls)} · ${status} `, csv));
  }

  _cards(k) {
    clear(this.cards);
    const prev = k.previous || null;
    for (const [field, kind, higherBetter] of CARDS) {
      const v = k[field];
      const p = prev ? prev[field] : null;
      let change = t('noPrevious');
      let cls = 'same';
      if (typeof v === 'number' && typeof p === 'number' && p !== 0) {
        const pct = ((v - p) / Math.abs(p)) * 100;
        const arrow = pct > 0.05 ? '▲' : pct < -0.05 ? '▼' : '＝';
        change = `${arrow} ${Math.abs(pct).toFixed(1)}% ${t('vsPrevious')} (${fmt(kind, p)})`;
        if (Math.abs(pct) > 0.05) cls = (pct > 0) === higherBetter ? 'better' : 'worse';
      } else if (typeof v === 'number' && p === 0) {
        // From nothing: no percentage, only the direction.
        change = `${v > 0 ? '▲' : '＝'} ${t('vsPrevious')} (${fmt(kind, 0)})`;
        if (v > 0) cls = higherBetter ? 'better' : 'worse';
      }
      this.cards.append(el('div', {class: 'rep-card', data: {field, value: v === null || v === undefined ? '' : String(v)}},
        el('div', {class: 'label', text: t(field)}),
        el('div', {class: 'value', text: fmt(kind, v)}),
        el('div', {class: `change ${cls}`, text: change})));
    }
  }

  _chart(key, config) {
    const old = this.charts.get(key);
    if (old) old.destroy();
    this.charts.delete(key);
    const p = this.panels[key];
    p.canvasBox.hidden = !this.Chart || !config;
    if (!this.Chart || !config) return;
    config.options = Object.assign({responsive: true, maintainAspectRatio: false,
      plugins: {legend: {position: 'bottom'}}}, config.options || {});
    this.charts.set(key, new this.Chart(p.canvas, config));
  }

  _tableIn(key, caption, head, rows, csvHref, csvName) {
    const p = this.panels[key];
    clear(p.table);
    p.table.append(el('summary', {text: t('table')}), table(caption, head, rows));
    p.csv.href = csvHref;
    p.csv.download = csvName;
  }

  // Issued and served, wait p50/p90, satisfaction: one row per hour (a
  // day) or per day (a week or a month).
  _series(body, by) {
    const rows = body && Array.isArray(body.rows) ? body.rows : [];
    let labels;
    let pick;
    if (by === 'hour') {
      labels = Array.from({length: 24}, (_, h) => `${String(h).padStart(2, '0')}:00`);
      const byHour = new Map(rows.map((r) => [r.hour, r]));
      pick = (i) => byHour.get(i) || null;
    } else {
      // Every day of the period, in order, a day without cells empty.
      const from = body ? Date.parse(`${body.from}T00:00:00Z`) : NaN;
      const to = body ? Date.parse(`${body.to}T00:00:00Z`) : NaN;
      labels = [];
      for (let d = from; Number.isFinite(d) && d <= to; d += 86400000) labels.push(new Date(d).toISOString().slice(0, 10));
      const byDay = new Map(rows.map((r) => [r.day, r]));
      pick = (i) => byDay.get(labels[i]) || null;
    }
    // The charts' axis: hours, or month-day; the tables keep whole dates.
    const axis = by === 'hour' ? labels : labels.map((d) => d.slice(5));
    const val = (i, f) => {
      const r = pick(i);
      return r && typeof r[f] === 'number' ? r[f] : by === 'hour' && (f === 'issued' || f === 'served') ? 0 : null;
    };
    const idx = labels.map((_, i) => i);
    const none = rows.length === 0;
    for (const key of ['volume', 'wait', 'satisfaction']) this.panels[key].note.textContent = none ? t('noData') : '';
    const xTitle = by === 'hour' ? t('hour') : t('dayCol');
    const scales = (y) => ({x: {title: {display: true, text: xTitle}}, y: Object.assign({beginAtZero: true}, y || {})});
    this._chart('volume', {type: 'bar', data: {labels: axis, datasets: [
      {label: t('issued'), data: idx.map((i) => val(i, 'issued')), backgroundColor: SERIES.issued},
      {label: t('served'), data: idx.map((i) => val(i, 'served')), backgroundColor: SERIES.served},
    ]}, options: {scales: scales()}});
    this._chart('wait', {type: 'line', data: {labels: axis, datasets: [
      {label: t('wait_p50_s'), data: idx.map((i) => val(i, 'wait_p50_s')), borderColor: SERIES.p50,
        backgroundColor: SERIES.p50, spanGaps: true},
      {label: t('wait_p90_s'), data: idx.map((i) => val(i, 'wait_p90_s')), borderColor: SERIES.p90,
        backgroundColor: SERIES.p90, spanGaps: true},
    ]}, options: {scales: scales({title: {display: true, text: 's'}})}});
    this._chart('satisfaction', {type: 'line', data: {labels: axis, datasets: [
      {label: t('satisfaction_avg'), data: idx.map((i) => val(i, 'satisfaction_avg')),
        borderColor: SERIES.satisfaction, backgroundColor: SERIES.satisfaction, spanGaps: true},
    ]}, options: {scales: scales({min: 1, max: 5, beginAtZero: false})}});

    const shown = idx.filter((i) => pick(i));
    const head = [by === 'hour' ? t('hour') : t('dayCol'), t('issued'), t('served'), t('wait_p50_s'),
      t('wait_p90_s'), t('satisfaction_avg'), t('satisfaction_count')];
    const trows = shown.map((i) => {
      const r = pick(i);
      return [labels[i], fmt('count', r.issued), fmt('count', r.served), fmt('seconds', r.wait_p50_s),
        fmt('seconds', r.wait_p90_s), fmt('score', r.satisfaction_avg), fmt('count', r.satisfaction_count)];
    });
    const href = `/v1/reports/kpi?${this._query({by, previous: 'false', format: 'csv'})}`;
    const name = `report-${this.state.scope}-${this.state.period}-${this.state.date}-by-${by}.csv`;
    for (const key of ['volume', 'wait', 'satisfaction']) this._tableIn(key, t(key), head, trows, href, name);
  }

  // The halls ranked: within the scope when it is a region, within its
  // city when it is a hall.
  async _loadRank(token) {
    const p = this.panels.rank;
    const net = this.net();
    let region = this.state.scope;
    const hall = net.halls.get(region);
    if (hall) region = hall.tile.city || null;
    if (!region || region === '~unplaced') {
      p.note.textContent = t('noRank');
      this._chart('rank', null);
      clear(p.table);
      p.csv.removeAttribute('href');
      return;
    }
    const metric = this.state.metric;
    const kind = (RANK_METRICS.find(([m]) => m === metric) || [null, 'count'])[1];
    const q = new URLSearchParams({scope: region, period: this.state.period, date: this.state.date,
      metric, limit: String(RANK_LIMIT)});
    const r = await getJSON(`/v1/reports/rank?${q}`);
    if (token !== this.token) return;
    if (r.status !== 200 || !r.body) {
      p.note.textContent = `${t('failed')}: ${(r.body && r.body.reason) || r.status}`;
      this._chart('rank', null);
      return;
    }
    if (this.last) this.last.rank = r.body;
    // The best and the worst, once each, best first.
    const seen = new Set();
    const list = [];
    for (const h of [...(r.body.best || []), ...(r.body.worst || []).slice().reverse()]) {
      if (seen.has(h.hall)) continue;
      seen.add(h.hall);
      list.push(h);
    }
    const where = net.regionName ? net.regionName(region) : region;
    p.note.textContent = list.length
      ? `${t('rankIn')} ${where} (${region}) · ${t('best')} → ${t('worst')}`
      : t('noData');
    this._chart('rank', {type: 'bar', data: {
      labels: list.map((h) => `${h.rank}. ${h.name || h.hall}`),
      datasets: [{label: t(metric), data: list.map((h) => h.value),
        backgroundColor: list.map((h) => (h.hall === this.state.scope ? SERIES.p90 : SERIES.issued))}],
    }, options: {indexAxis: 'y', plugins: {legend: {display: false}},
      scales: {x: {beginAtZero: true}}}});
    this._tableIn('rank', t('rank'), [t('position'), t('hall'), t('name'), t(metric)],
      list.map((h) => [String(h.rank), h.hall, h.name || '', fmt(kind, h.value)]),
      `/v1/reports/rank?${new URLSearchParams({scope: region, period: this.state.period,
        date: this.state.date, metric, limit: '1000', format: 'csv'})}`,
      `rank-${region}-${metric}-${this.state.period}-${this.state.date}.csv`);
  }
}
