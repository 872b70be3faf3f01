// The calendar in the workspace: a Gantt chart with a row per hall, grouped
// by city, each campaign a bar over its days, days where a hall runs more
// than one campaign shaded as overlaps and the coordination check's cap
// breaches (rule 2's halls and days) marked red; one hall's day listed; and
// the rollout of the current policy and calendar versions, hall by hall
// (applied, pending, offline, refused). Not here: editing (campaign-editor.js).

import {api, clear, el, fmtNumber} from './util.js';
import {fmtDate, t} from './editors-t.js';
import {STATES} from './campaign-editor.js';
import {refusalList} from './refusals.js';

const DAY_MS = 86400000;
const DAYS_MAX = 120;
const HALL_ROWS_MAX = 300;
const dayOf = (iso) => Math.floor(Date.parse(`${iso}T00:00:00Z`) / DAY_MS);
const isoOf = (d) => new Date(d * DAY_MS).toISOString().slice(0, 10);

export class Gantt {
  constructor(ctx) {
    this.ctx = ctx;
    this.campaigns = [];
    this.breaches = new Map(); // hall -> [{first, last}]
    this.rollout = null;
  }

  mount(root) {
    this.root = root;
  }

  async show() {
    const [cal, check, roll] = await Promise.all([
      this.ctx.perms.read ? api('/v1/calendar/export') : null,
      this.ctx.perms.read ? api('/v1/calendar/check', {method: 'POST'}) : null,
      this.ctx.perms.policyRead ? api('/v1/rollout?halls=1000') : null,
    ]);
    this.campaigns = cal && cal.status === 200 && cal.body ? cal.body.campaigns.filter(
      (c) => ['submitted', 'approved', 'published'].includes(c.state)) : [];
    this.breaches.clear();
    if (check && check.status === 200 && check.body) {
      for (const f of check.body.findings.filter((x) => x.code === 'concurrency')) {
        for (const h of f.halls.sample) {
          if (!this.breaches.has(h)) this.breaches.set(h, []);
          this.breaches.get(h).push({first: dayOf(f.days.first), last: dayOf(f.days.last), campaigns: f.campaigns});
        }
      }
    }
    this.rollout = roll && roll.status === 200 ? roll.body : null;
    this.draw();
  }

  draw() {
    const root = this.root;
    clear(root);
    if (this.ctx.perms.policyRead) root.append(this.rolloutView());
    if (this.ctx.perms.read) root.append(this.chart(), this.dayView());
  }

  rolloutView() {
    const box = el('section', {id: 'ws-rollout', class: 'ws-rollout'}, el('h2', {text: t('ro.title')}));
    if (!this.rollout) {
      box.append(el('p', {class: 'note', text: t('ro.none')}));
      return box;
    }
    const parts = ['applied', 'pending', 'offline', 'refused'];
    for (const kind of ['policy', 'calendar']) {
      const v = this.rollout[kind];
      const figs = el('div', {class: 'rfigs'});
      for (const p of parts) {
        const halls = v[`${p}_halls`] || [];
        figs.append(el('div', {class: `ro-part r-${p}`, data: {part: p}},
          el('b', {text: fmtNumber(v[p])}), ` ${t(`ro.${p}`)}`,
          halls.length ? el('span', {class: 'ro-halls', text: `: ${halls.join(' ')}`}) : null));
      }
      box.append(el('div', {class: 'ro-row', data: {kind, version: String(v.version)}},
        el('span', {class: 'ro-label', text: t(`ro.${kind}`, {v: v.version, n: v.halls})}), figs,
        refusalList(v)));
    }
    return box;
  }

  // Campaigns reaching each hall, by day.
  chart() {
    const org = this.ctx.org;
    const box = el('section', {id: 'ws-gantt', class: 'gantt'}, el('h2', {text: t('gt.title')}));
    if (!this.campaigns.length) {
      box.append(el('p', {class: 'note', text: t('gt.empty')}));
      return box;
    }
    let first = Math.min(...this.campaigns.map((c) => dayOf(c.start)));
    const today = Math.floor(Date.now() / DAY_MS);
    first = Math.max(first, today - 7);
    let last = Math.max(...this.campaigns.map((c) => dayOf(c.end)));
    last = Math.min(last, first + DAYS_MAX - 1);
    const days = last - first + 1;
    const perHall = new Map();
    for (const c of this.campaigns) {
      for (const h of org.reach(c)) {
        if (!perHall.has(h)) perHall.set(h, []);
        perHall.get(h).push(c);
      }
    }
    const grid = el('div', {class: 'g-grid', style: `--days:${days}`});
    const axis = el('div', {class: 'g-row g-axis'}, el('span', {class: 'g-label'}));
    const track = el('span', {class: 'g-track'});
    for (let d = first; d <= last; d += 7) {
      track.append(el('span', {class: 'g-tick', style: `left:${((d - first) / days) * 100}%`, text: fmtDate(isoOf(d))}));
    }
    axis.append(track);
    grid.append(axis);
    let rows = 0;
    const cities = [...org.regions.values()].filter((r) => r.level === 'city');
    for (const city of cities) {
      const halls = [...org.halls.values()].filter((h) => h.city === city.id && perHall.has(h.id));
      if (!halls.length) continue;
      grid.append(el('div', {class: 'g-row g-city', data: {region: city.id}},
        el('span', {class: 'g-label', text: `${city.name} (${city.id})`})));
      for (const h of halls) {
        if (rows++ >= HALL_ROWS_MAX) break;
        grid.append(this.hallRow(h, perHall.get(h.id), first, last, days));
      }
    }
    box.append(el('div', {class: 'g-key'},
      ...STATES.slice(1, 4).map((s) => el('span', {class: `ckey s-${s}`, text: t(`state.${s}`)})),
      el('span', {class: 'ckey overlap', text: t('gt.overlap')}), el('span', {class: 'ckey breach', text: t('gt.breach')})), grid);
    return box;
  }

  hallRow(h, list, first, last, days) {
    const track = el('span', {class: 'g-track'});
    const pos = (d) => `${((d - first) / days) * 100}%`;
    // Overlaps: days where two or more campaigns run here.
    const count = new Array(days).fill(0);
    for (const c of list) {
      for (let d = Math.max(first, dayOf(c.start)); d <= Math.min(last, dayOf(c.end)); d++) count[d - first]++;
    }
    for (let i = 0; i < days; i++) {
      if (count[i] > 1) track.append(el('span', {class: 'g-overlap', style: `left:${pos(first + i)};width:${100 / days}%`}));
    }
    for (const b of this.breaches.get(h.id) || []) {
      const s = Math.max(first, b.first);
      const e = Math.min(last, b.last);
      if (e >= s) {
        track.append(el('span', {class: 'g-breach', data: {hall: h.id}, title: t('gt.breach_title', {campaigns: b.campaigns.join(', ')}),
          style: `left:${pos(s)};width:calc(${pos(e + 1)} - ${pos(s)})`}));
      }
    }
    list.forEach((c, i) => {
      const s = Math.max(first, dayOf(c.start));
      const e = Math.min(last, dayOf(c.end));
      if (e < s) return;
      track.append(el('span', {class: `g-bar s-${c.state}`, data: {campaign: c.id},
        title: `${c.title} · ${fmtDate(c.start)} – ${fmtDate(c.end)} · ${t(`state.${c.state}`)}`,
        style: `left:${pos(s)};width:calc(${pos(e + 1)} - ${pos(s)});top:${2 + (i % 3) * 7}px`,
        onclick: () => this.ctx.ws.edit(c.id)}, c.title));
    });
    return el('div', {class: 'g-row g-hall', data: {hall: h.id}},
      el('span', {class: 'g-label', text: `${h.name || h.id} (${h.id})`}), track);
  }

  // What one hall runs on one day.
  dayView() {
    const org = this.ctx.org;
    const box = el('section', {id: 'ws-day', class: 'ws-day'}, el('h2', {text: t('gt.day_title')}));
    const hallSel = el('select', {id: 'gd-hall', 'aria-label': t('gt.hall')},
      ...[...org.halls.values()].map((h) => el('option', {value: h.id}, `${h.name || h.id} (${h.id})`)));
    const date = el('input', {id: 'gd-date', type: 'date', value: new Date().toISOString().slice(0, 10), 'aria-label': t('gt.date')});
    const out = el('ul', {id: 'gd-list', class: 'gd-list'});
    const paint = () => {
      clear(out);
      const d = dayOf(date.value);
      const runs = this.campaigns.filter((c) => dayOf(c.start) <= d && d <= dayOf(c.end) && org.reach(c).includes(hallSel.value));
      if (!runs.length) out.append(el('li', {class: 'note', text: t('gt.day_none')}));
      for (const c of runs) {
        out.append(el('li', {data: {campaign: c.id}}, el('b', {text: c.title}),
          ` · ${t(`level.${c.level}`)} · ${t(`state.${c.state}`)} · ${fmtDate(c.start)} – ${fmtDate(c.end)}`));
      }
    };
    hallSel.addEventListener('change', paint);
    date.addEventListener('change', paint);
    box.append(el('div', {class: 'ws-bar'}, el('label', {for: 'gd-hall', text: t('gt.hall')}), hallSel,
      el('label', {for: 'gd-date', text: t('gt.date')}), date), out);
    paint();
    return box;
  }
}
