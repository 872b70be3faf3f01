// The head office's workspace: the tab where marketers, reviewers and policy
// editors do their work in the page (docs/DASHBOARD.md, "The workspace").
// It mounts the parts the person's permissions allow (campaigns, the
// review queue, the calendar as a Gantt chart with the rollout, the
// glossary, policies) behind a row of sub-tabs, and keeps what they share:
// the organisation (region tree and halls) and who is signed in. Every
// refusal is the server's: a button hidden here is refused by HQ's guard too.

import {api, clear, el} from './util.js';
import {session} from './auth.js';
import {lang, setLang, t} from './editors-t.js';
import {CampaignEditor} from './campaign-editor.js';
import {Gantt} from './gantt.js';
import {PolicyEditor} from './policy-editor.js';

// The organisation as the editors use it: regions by id with children,
// halls by id, and for each region the halls under it.
export class Org {
  constructor(doc) {
    this.regions = new Map();
    this.halls = new Map();
    this.children = new Map();
    this.root = null;
    for (const r of (doc && doc.regions) || []) {
      this.regions.set(r.id, r);
      if (!r.parent) this.root = r.id;
      else {
        if (!this.children.has(r.parent)) this.children.set(r.parent, []);
        this.children.get(r.parent).push(r.id);
      }
    }
    for (const h of (doc && doc.halls) || []) this.halls.set(h.id, h);
  }

  // Every hall under region `id`, transitively.
  hallsUnder(id) {
    const out = [];
    const walk = (rid) => {
      for (const h of this.halls.values()) if (h.city === rid) out.push(h.id);
      for (const c of this.children.get(rid) || []) walk(c);
    };
    walk(id);
    return out;
  }

  // city, province, national of a hall.
  chain(hall) {
    const h = this.halls.get(hall);
    const out = [];
    for (let r = h ? h.city : null; r; r = this.regions.get(r) ? this.regions.get(r).parent : null) out.push(r);
    return out;
  }

  under(region, ancestor) {
    for (let r = region; r; r = this.regions.get(r) ? this.regions.get(r).parent : null) {
      if (r === ancestor) return true;
    }
    return false;
  }

  // The halls a campaign's scope reaches (CAMPAIGNS.md, "Scopes").
  reach(c) {
    const s = c.scope || {};
    const set = new Set();
    for (const r of s.regions || []) for (const h of this.hallsUnder(r)) set.add(h);
    for (const h of s.halls || []) set.add(h);
    if (!(s.regions || []).length && !(s.halls || []).length) for (const h of this.hallsUnder(c.region)) set.add(h);
    if ((s.tags || []).length) {
      for (const h of [...set]) {
        const tags = (this.halls.get(h) || {}).tags || [];
        if (!tags.some((x) => s.tags.includes(x))) set.delete(h);
      }
    }
    return [...set].sort();
  }
}

// Where the person holds `perm`: null when nowhere, 'network' or the
// region/hall ids otherwise.
export function scopesOf(perm) {
  const me = session.me;
  if (!me || !Array.isArray(me.permissions)) return null;
  const out = me.permissions.filter((p) => p.permission === perm).map((p) => p.where || 'network');
  return out.length ? out : null;
}

// Whether region `rid` lies in one of `scopes` (as scopesOf gives them).
export function inScope(org, scopes, rid) {
  if (!scopes) return false;
  return scopes.some((w) => w === 'network' || (w.startsWith('region/') && org.under(rid, w.slice(7))));
}

const PARTS = [
  ['campaigns', 'ws.tab.campaigns', (p) => p.read],
  ['review', 'ws.tab.review', (p) => p.approve],
  ['calendar', 'ws.tab.calendar', (p) => p.read || p.policyRead],
  ['glossary', 'ws.tab.glossary', (p) => p.read],
  ['policies', 'ws.tab.policies', (p) => p.policyRead],
];

export class Workspace {
  constructor(root) {
    this.root = root;
    this.org = new Org(null);
    this.perms = {
      read: session.can('campaign.read'),
      draft: session.can('campaign.draft'),
      approve: session.can('campaign.approve'),
      policyRead: session.can('policy.read'),
      policyEdit: session.can('policy.edit'),
      admin: session.can('admin'),
    };
    this.current = null;
    this.parts = {};
    this.built = false;
  }

  // Whether the person has anything to do here.
  available() {
    return PARTS.some(([, , allowed]) => allowed(this.perms));
  }

  async show() {
    if (!this.built) await this.build();
    if (this.current) this.parts[this.current].show();
  }

  async loadOrg() {
    const r = await api('/v1/org');
    if (r.status === 200 && r.body) this.org = new Org(r.body);
    return this.org;
  }

  async build() {
    this.built = true;
    clear(this.root);
    document.documentElement.lang = lang();
    await this.loadOrg();
    const nav = el('div', {class: 'ws-nav', role: 'tablist', 'aria-label': t('ws.nav')});
    const body = el('div', {class: 'ws-body'});
    const langSel = el('select', {id: 'ws-lang', 'aria-label': t('ws.lang'),
      onchange: (e) => {
        setLang(e.target.value);
        const u = new URL(location.href);
        u.searchParams.set('lang', e.target.value);
        location.href = u.toString();
      }},
    el('option', {value: 'zh-CN', selected: lang() === 'zh-CN'}, '中文'),
    el('option', {value: 'en', selected: lang() === 'en'}, 'English'));
    const ctx = {org: this.org, perms: this.perms, me: session.me, ws: this};
    const make = {
      campaigns: () => new CampaignEditor(ctx, 'list'),
      review: () => new CampaignEditor(ctx, 'review'),
      calendar: () => new Gantt(ctx),
      glossary: () => new CampaignEditor(ctx, 'glossary'),
      policies: () => new PolicyEditor(ctx),
    };
    for (const [id, key, allowed] of PARTS) {
      if (!allowed(this.perms)) continue;
      const panel = el('section', {id: `ws-${id}`, class: 'ws-panel', role: 'tabpanel', hidden: true});
      body.append(panel);
      this.parts[id] = make[id]();
      this.parts[id].mount(panel);
      nav.append(el('button', {type: 'button', role: 'tab', id: `ws-tab-${id}`, 'aria-selected': 'false',
        data: {part: id}, text: t(key), onclick: () => this.open(id)}));
    }
    nav.append(el('span', {class: 'ws-lang'}, el('label', {for: 'ws-lang', text: t('ws.lang')}), langSel));
    this.root.append(nav, body);
    const first = Object.keys(this.parts)[0];
    if (first) this.open(first);
    else body.append(el('p', {class: 'note', text: t('ws.nothing')}));
  }

  open(id) {
    this.current = id;
    for (const b of this.root.querySelectorAll('.ws-nav [role=tab]')) {
      b.setAttribute('aria-selected', b.dataset.part === id ? 'true' : 'false');
    }
    for (const p of this.root.querySelectorAll('.ws-panel')) p.hidden = p.id !== `ws-${id}`;
    this.parts[id].show();
  }

  // Another part asks to show a campaign in the editor (the review queue,
  // the Gantt chart).
  edit(id) {
    if (!this.parts.campaigns) return;
    this.open('campaigns');
    this.parts.campaigns.openCampaign(id);
  }
}
