// Campaigns and rollout: the campaign calendar as a timeline (one row per
// campaign, a bar from its start to its end, coloured by its state, with
// today marked) and, for the published policy and calendar versions, how
// many halls run them, wait for them, are offline or refused them (the
// refused halls listed with why, refusals.js). Both are polled, not
// streamed: they change when people publish, not with every ticket.

import {el, clear, forbidden, fmtNumber, getJSON, routeMissing} from './util.js';
import {fmtDay, has, lang, t} from './i18n.js';
import {refusalList} from './refusals.js';

const word = (group, v) => (v && has(`${group}.${v}`) ? t(`${group}.${v}`) : (v || '–'));

const DAY_MS = 86400000;
const WINDOW_BEFORE_DAYS = 14;
const WINDOW_MIN_DAYS = 90;
const WINDOW_MAX_DAYS = 400;
const ROWS_MAX = 500;
// Refused halls listed per kind with why (the counts cover them all).
const REFUSALS_SHOWN = 50;

const utcDay = (s) => {
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isNaN(t) ? null : t;
};

export class Campaigns {
  constructor(rolloutEl, calendarEl, summaryEl) {
    this.rolloutEl = rolloutEl;
    this.calendarEl = calendarEl;
    this.summaryEl = summaryEl;
    this.rollout = null;
    this.campaigns = null;
    this.campaignsAvailable = null;
  }

  published() {
    return this.rollout;
  }

  // GET `path` for a part of the view: {body} when it answered, else
  // {missing} after noting why in `target` (the caller's role, a route this
  // HQ does not serve, or a failure, noted only when nothing is `shown` yet).
  async _load(path, target, notes, shown) {
    const r = await getJSON(path);
    const missing = routeMissing(r);
    if (forbidden(r)) this._noteIn(target, notes.noRole);
    else if (missing) this._noteIn(target, notes.notServed);
    else if (r.status === 200 && r.body) return {body: r.body};
    else if (!shown) this._noteIn(target, notes.failed);
    return {missing};
  }

  async loadRollout() {
    const got = await this._load(`/v1/rollout?halls=${REFUSALS_SHOWN}`, this.rolloutEl, {noRole: t('cal.noPolicyRole'),
      notServed: t('cal.rolloutNotServed'), failed: t('cal.rolloutFailed')}, this.rollout);
    if (!got.body) return;
    this.rollout = got.body;
    this._drawRollout();
  }

  async loadCampaigns() {
    const got = await this._load('/v1/campaigns', this.calendarEl, {noRole: t('cal.noCampaignRole'),
      notServed: t('cal.notServed'), failed: t('cal.failed')}, this.campaigns);
    if (got.missing) this.campaignsAvailable = false;
    if (!got.body) return;
    this.campaignsAvailable = true;
    this.campaigns = Array.isArray(got.body.campaigns) ? got.body.campaigns : [];
    this.calendarVersion = got.body.calendar_version;
    this._drawCalendar();
  }

  _noteIn(target, text) {
    clear(target);
    target.append(el('p', {class: 'note', text}));
  }

  _drawRollout() {
    const r = this.rollout;
    clear(this.rolloutEl);
    const summary = [];
    for (const kind of ['policy', 'calendar']) {
      const v = r[kind];
      if (!v) continue;
      const halls = v.halls || 0;
      const parts = [['applied', v.applied], ['pending', v.pending], ['offline', v.offline], ['refused', v.refused]];
      const b = el('div', {class: 'rbar', 'aria-hidden': 'true'});
      for (const [k, n] of parts) {
        if (n) b.append(el('span', {class: `seg r-${k}`, style: `flex-grow:${n}`}));
      }
      const figs = parts.map(([k, n]) => el('span', {class: `rfig r-${k}`, data: {part: k}},
        el('b', {text: fmtNumber(n || 0)}), ' ', el('span', {text: t(`cal.r.${k}`)})));
      this.rolloutEl.append(el('div', {class: 'rollout-row', data: {kind, version: String(v.version)}},
        el('h3', {text: t(`cal.${kind}V`, {v: v.version})}),
        el('span', {class: 'note', text: t('cal.halls', {n: halls})}), b, el('div', {class: 'rfigs'}, ...figs),
        refusalList(v)));
      const pct = halls ? Math.floor((100 * (v.applied || 0)) / halls) : 0;
      summary.push(t('cal.applied', {what: t(`cal.${kind}V`, {v: v.version}), pct}));
    }
    if (this.summaryEl) this.summaryEl.textContent = summary.join(' · ');
  }

  _drawCalendar() {
    clear(this.calendarEl);
    const list = this.campaigns.filter((c) => utcDay(c.start) !== null && utcDay(c.end) !== null);
    if (!list.length) {
      this.calendarEl.append(el('p', {class: 'note', text: t('cal.none')}));
      return;
    }
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    // The window: two weeks back, and at least three months ahead, stretched
    // to the campaigns that are still to run (within a bound).
    const from = today - WINDOW_BEFORE_DAYS * DAY_MS;
    let to = today + WINDOW_MIN_DAYS * DAY_MS;
    for (const c of list) to = Math.max(to, utcDay(c.end) + DAY_MS);
    to = Math.min(to, from + WINDOW_MAX_DAYS * DAY_MS);
    const span = to - from;
    const pos = (t) => `${(100 * (Math.min(Math.max(t, from), to) - from)) / span}%`;

    const shown = list
      .filter((c) => utcDay(c.end) + DAY_MS > from && utcDay(c.start) < to)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id < b.id ? -1 : 1));
    const axis = el('div', {class: 'axis', 'aria-hidden': 'true'});
    const first = new Date(from);
    let labelled = false;
    for (let m = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1); m < to;) {
      const d = new Date(m);
      // The year on the first month shown and on every January.
      const withYear = !labelled || d.getUTCMonth() === 0;
      labelled = true;
      axis.append(el('span', {class: 'month', style: `left:${pos(m)}`,
        text: d.toLocaleDateString(lang, withYear
          ? {month: 'short', year: 'numeric', timeZone: 'UTC'} : {month: 'short', timeZone: 'UTC'})}));
      m = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    const rows = el('ol', {class: 'rows'});
    for (const c of shown.slice(0, ROWS_MAX)) {
      const s = utcDay(c.start);
      const e = utcDay(c.end) + DAY_MS;
      const label = [c.title || c.id, `${word('level', c.level)} ${c.region || ''}`.trim(), word('state', c.state),
        `${fmtDay(c.start, true)} – ${fmtDay(c.end, true)}`,
        c.halls !== undefined ? t('cal.halls', {n: c.halls}) : null].filter(Boolean).join(' · ');
      rows.append(el('li', {class: 'row', data: {campaign: c.id, state: c.state || ''}},
        el('span', {class: 'clabel', text: c.title || c.id, title: label}),
        el('span', {class: 'track'},
          el('span', {class: `cbar s-${c.state || 'draft'}`, style: `left:${pos(s)};width:calc(${pos(e)} - ${pos(s)})`,
            'aria-label': label, role: 'img'}))));
    }
    const todayLine = el('div', {class: 'today', style: `left:${pos(today)}`, 'aria-hidden': 'true'});
    this.calendarEl.append(
      el('p', {class: 'note'}, el('span', {text: t('cal.summary', {v: this.calendarVersion ?? '–',
        n: fmtNumber(list.length), shown: fmtNumber(shown.length)})}), ' ', el('span', {text: t('cal.states')}), ' ',
      ...['draft', 'submitted', 'approved', 'published', 'withdrawn'].map((st) =>
        el('span', {class: `ckey s-${st}`, text: t(`state.${st}`)}))),
      el('div', {class: 'timeline'}, axis, rows, el('div', {class: 'overlay'}, todayLine)));
    if (shown.length > ROWS_MAX) {
      this.calendarEl.append(el('p', {class: 'note', text: t('cal.firstOf', {n: ROWS_MAX, of: fmtNumber(shown.length)})}));
    }
  }
}
