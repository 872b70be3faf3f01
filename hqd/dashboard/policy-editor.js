// Policies in the workspace: one scope's draft document (national, a
// province, a city or a hall) as a form: opening hours by weekday, holiday
// hours, planned closures with the halls to divert to and the notice halls
// post from the day the policy is published, SLA thresholds, queue rules
// (waits per service and priority) and diversion; beside each field which
// scope sets it for the preview hall; the effective policy of any hall
// (GET /v1/policies/effective/{hall}?drafts=1) with where each value comes
// from; saving the draft (the server's refusal shown next to the field its
// path names), publishing with a note, and the rollout. Not here: the
// rules (common/rules/policy.c decides; the page shows its refusals).

import {api, clear, el, fmtNumber} from './util.js';
import {t} from './editors-t.js';
import {scopesOf} from './workspace.js';
import {refusalList} from './refusals.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const SEVERITIES = ['*', 'low', 'medium', 'high', 'critical'];
const splitList = (s) => s.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const has = (o, k) => o && Object.prototype.hasOwnProperty.call(o, k);

// The value at a dotted path of a document (undefined when absent).
function at(doc, path) {
  let v = doc;
  for (const k of path) {
    if (!v || typeof v !== 'object' || !has(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

// The field a refusal names: "closures.x.to (2027-01-09) is before ...",
// "sla.max_wait_s.A:vip must be ...", "opening_hours.tue[1] (...)".
export function pathOfReason(reason) {
  const m = /^([^\s]+)/.exec(reason || '');
  return m ? m[1].replace(/:$/, '').replace(/\[\d+\]$/, '') : '';
}

export class PolicyEditor {
  constructor(ctx) {
    this.ctx = ctx;
    this.scope = null;
    this.policies = null;
    this.previewHall = null;
  }

  mount(root) {
    this.root = root;
  }

  scopes() {
    const org = this.ctx.org;
    const out = [{id: 'national', label: t('pe.national')}];
    const walk = (rid, depth) => {
      for (const c of org.children.get(rid) || []) {
        const r = org.regions.get(c);
        out.push({id: `region/${c}`, label: `${'· '.repeat(depth)}${t(`pe.level.${r.level}`)} ${r.name} (${c})`});
        walk(c, depth + 1);
      }
    };
    if (org.root) walk(org.root, 0);
    for (const h of org.halls.values()) out.push({id: `hall/${h.id}`, label: `${t('pe.level.hall')} ${h.name || h.id} (${h.id})`});
    return out;
  }

  // Whether the person may edit scope `s` (policy.edit where they hold it).
  editable(s) {
    const where = scopesOf('policy.edit');
    if (!where) return false;
    if (where.includes('network')) return true;
    const org = this.ctx.org;
    if (s === 'national') return false;
    const [kind, id] = s.split('/');
    const region = kind === 'hall' ? (org.halls.get(id) || {}).city : id;
    return where.some((w) => (w.startsWith('region/') && region && org.under(region, w.slice(7))) ||
      (kind === 'hall' && w === `hall/${id}`));
  }

  async show() {
    const r = await api('/v1/policies');
    this.policies = r.status === 200 ? r.body : {drafts: {}, published: {}};
    if (!this.scope) {
      const list = this.scopes();
      this.scope = (list.find((s) => this.editable(s.id)) || list[0]).id;
    }
    if (!this.previewHall) {
      const halls = [...this.ctx.org.halls.keys()];
      const [kind, id] = this.scope.split('/');
      this.previewHall = kind === 'hall' ? id : (halls.find((h) => kind !== 'region' || this.ctx.org.chain(h).includes(id)) || halls[0]);
    }
    this.draw();
  }

  docOf(scope) {
    const d = this.policies.drafts || {};
    const p = this.policies.published || {};
    return has(d, scope) ? d[scope] : has(p, scope) ? p[scope] : {};
  }

  // The scopes of a hall, widest first.
  chainScopes(hall) {
    return ['national', ...this.ctx.org.chain(hall).reverse().filter((r) => r !== this.ctx.org.root).map((r) => `region/${r}`), `hall/${hall}`];
  }

  // Which scope sets `path` for `hall` with the drafts: the narrowest that
  // has it (a null removes it: the default applies again).
  setBy(hall, path) {
    let from = 'default';
    for (const s of this.chainScopes(hall)) {
      const v = at(this.docOf(s), path);
      if (v === null) from = 'default';
      else if (v !== undefined) from = s;
    }
    return from;
  }

  scopeLabel(s) {
    if (s === 'default') return t('pe.default');
    if (s === 'national') return t('pe.national');
    const [kind, id] = s.split('/');
    if (kind === 'hall') return `${t('pe.level.hall')} ${id}`;
    const r = this.ctx.org.regions.get(id);
    return r ? `${t(`pe.level.${r.level}`)} ${r.name}` : s;
  }

  draw() {
    const root = this.root;
    clear(root);
    const doc = this.docOf(this.scope);
    const editable = this.editable(this.scope);
    const halls = [...this.ctx.org.halls.values()];
    const scopeSel = el('select', {id: 'pe-scope', onchange: (e) => {
      this.scope = e.target.value;
      const [kind, id] = this.scope.split('/');
      if (kind === 'hall') this.previewHall = id;
      this.draw();
    }}, ...this.scopes().map((s) => el('option', {value: s.id, selected: s.id === this.scope}, s.label)));
    const hallSel = el('select', {id: 'pe-preview-hall', onchange: (e) => {
      this.previewHall = e.target.value;
      this.draw();
    }}, ...halls.map((h) => el('option', {value: h.id, selected: h.id === this.previewHall}, `${h.name || h.id} (${h.id})`)));
    const v = this.policies;
    root.append(el('h2', {text: t('pe.title')}),
      el('p', {class: 'note', id: 'pe-version', text: v.version ? t('pe.version', {v: v.version, by: v.published_by || '–'}) : t('pe.unpublished')}),
      el('div', {class: 'ws-bar'}, el('label', {for: 'pe-scope', text: t('pe.scope')}), scopeSel,
        el('label', {for: 'pe-preview-hall', text: t('pe.preview_hall')}), hallSel),
      el('p', {id: 'pe-status', class: 'ws-status', role: 'status'}), el('p', {id: 'pe-refusal', class: 'ws-refusal', role: 'alert'}));
    if (!editable) root.append(el('p', {class: 'note', text: t('pe.read_only')}));

    const form = el('form', {id: 'pe-form', class: 'ws-form', novalidate: true, onsubmit: (e) => e.preventDefault()});
    const field = (path, label, ...inputs) => el('div', {class: 'field', data: {path}},
      el('span', {class: 'flabel', text: label}), ...inputs,
      el('span', {class: 'set-by', data: {from: this.setBy(this.previewHall, path.split('.'))},
        text: t('pe.set_by', {scope: this.scopeLabel(this.setBy(this.previewHall, path.split('.')))})}),
      el('ul', {class: 'field-findings'}));
    const inp = (id, value, attrs = {}) => el('input', {id, value: value ?? '', disabled: !editable, ...attrs});
    const oh = doc.opening_hours || {};
    form.append(el('h3', {text: t('pe.hours')}), el('p', {class: 'note', text: t('pe.hours_help')}));
    for (const d of DAYS) {
      const val = has(oh, d) ? (oh[d] === null ? '' : oh[d].length ? oh[d].join(', ') : '-') : '';
      form.append(field(`opening_hours.${d}`, t(`day.${d}`), inp(`pe-oh-${d}`, val, {placeholder: t('pe.inherit')})));
    }
    form.append(el('h3', {text: t('pe.special')}));
    const special = el('ol', {id: 'pe-special', class: 'rows'});
    for (const [date, s] of Object.entries(doc.special_days || {})) special.append(this.specialRow(date, s || {}, editable));
    form.append(field('special_days', t('pe.special_days'), special,
      editable ? el('button', {type: 'button', id: 'pe-special-add', text: t('pe.add'), onclick: () => special.append(this.specialRow('', {}, true))}) : null));
    form.append(el('h3', {text: t('pe.closures')}), el('p', {class: 'note', text: t('pe.closures_help')}));
    const closures = el('ol', {id: 'pe-closures', class: 'rows'});
    for (const [id, c] of Object.entries(doc.closures || {})) closures.append(this.closureRow(id, c || {}, editable));
    form.append(field('closures', t('pe.closures'), closures,
      editable ? el('button', {type: 'button', id: 'pe-closure-add', text: t('pe.add_closure'), onclick: () => closures.append(this.closureRow('', {}, true))}) : null));
    form.append(el('h3', {text: t('pe.sla')}));
    const sla = doc.sla || {};
    form.append(field('sla.max_wait_s', t('pe.max_wait'), inp('pe-wait', at(sla, ['max_wait_s', '*:*']), {type: 'number', min: 1, placeholder: t('pe.inherit')})));
    form.append(field('sla.complaint_ack_s', t('pe.ack'), inp('pe-ack', at(sla, ['complaint_ack_s', '*']), {type: 'number', min: 60, placeholder: t('pe.inherit')})));
    form.append(field('sla.complaint_resolve_s', t('pe.resolve'), inp('pe-resolve', at(sla, ['complaint_resolve_s', '*']), {type: 'number', min: 60, placeholder: t('pe.inherit')})));
    const rules = el('ol', {id: 'pe-rules', class: 'rows'});
    for (const [k, val] of Object.entries(sla.max_wait_s || {})) if (k !== '*:*') rules.append(this.ruleRow(k, val, editable));
    form.append(el('h3', {text: t('pe.queue')}), el('p', {class: 'note', text: t('pe.queue_help')}),
      field('sla.max_wait_s', t('pe.queue_rules'), rules,
        editable ? el('button', {type: 'button', id: 'pe-rule-add', text: t('pe.add'), onclick: () => rules.append(this.ruleRow('', '', true))}) : null));
    const div = doc.diversion || {};
    form.append(el('h3', {text: t('pe.diversion')}),
      field('diversion.threshold', t('pe.threshold'), inp('pe-threshold', div.threshold, {type: 'number', min: 1, placeholder: t('pe.inherit')})),
      field('diversion.echannels', t('pe.echannels'), inp('pe-echannels', (div.echannels || []).join(', '), {placeholder: t('pe.inherit')})),
      field('divert_to', t('pe.divert_to'), inp('pe-divert', (doc.divert_to || []).join(', '), {placeholder: t('pe.inherit')})));
    form.append(el('ul', {class: 'field-findings', data: {path: ''}}));
    this.form = form;
    this.base = doc;
    root.append(form);
    if (editable) {
      root.append(el('div', {class: 'ws-actions'},
        el('button', {type: 'button', id: 'pe-save', text: t('pe.save'), onclick: () => this.save()}),
        el('input', {id: 'pe-note', placeholder: t('pe.note'), maxlength: 500, 'aria-label': t('pe.note')}),
        el('button', {type: 'button', id: 'pe-publish', class: 'primary', text: t('pe.publish'), onclick: () => this.publish()})));
    }
    root.append(el('section', {id: 'pe-effective', class: 'pe-effective'}, el('h3', {text: t('pe.effective', {hall: this.previewHall})})),
      el('section', {id: 'pe-rollout'}));
    this.loadEffective();
    this.loadRollout();
  }

  specialRow(date, s, editable) {
    return el('li', {class: 'sd-row'},
      el('input', {class: 'sd-date', type: 'date', value: date, disabled: !editable, 'aria-label': t('pe.date')}),
      el('input', {class: 'sd-hours', value: (s.hours || []).join(', '), placeholder: t('pe.closed_all_day'), disabled: !editable, 'aria-label': t('pe.hours')}),
      el('input', {class: 'sd-note', value: s.note || '', placeholder: t('pe.note_holiday'), disabled: !editable, 'aria-label': t('pe.note_holiday')}),
      editable ? el('button', {type: 'button', text: '×', 'aria-label': t('pe.remove'), onclick: (e) => e.target.closest('li').remove()}) : null);
  }

  closureRow(id, c, editable) {
    const halls = [...this.ctx.org.halls.values()];
    const divert = el('select', {class: 'cl-divert', multiple: true, disabled: !editable, 'aria-label': t('pe.divert_to')},
      ...halls.map((h) => el('option', {value: h.id, selected: (c.divert_to || []).includes(h.id)}, `${h.name || h.id} (${h.id})`)));
    return el('li', {class: 'cl-row', data: {closure: id}},
      el('input', {class: 'cl-id', value: id, placeholder: t('pe.closure_id'), disabled: !editable, 'aria-label': t('pe.closure_id')}),
      el('input', {class: 'cl-from', type: 'date', value: c.from || '', disabled: !editable, 'aria-label': t('pe.from')}),
      el('input', {class: 'cl-to', type: 'date', value: c.to || '', disabled: !editable, 'aria-label': t('pe.to')}),
      divert,
      el('textarea', {class: 'cl-notice', rows: 2, maxlength: 511, placeholder: t('pe.notice'), disabled: !editable, 'aria-label': t('pe.notice')}, c.notice || ''),
      editable ? el('button', {type: 'button', text: '×', 'aria-label': t('pe.remove'), onclick: (e) => e.target.closest('li').remove()}) : null);
  }

  ruleRow(key, val, editable) {
    return el('li', {class: 'rule-row'},
      el('input', {class: 'rule-key', value: key, placeholder: 'A:vip', disabled: !editable, 'aria-label': t('pe.rule_key')}),
      el('input', {class: 'rule-val', type: 'number', min: 1, value: val ?? '', disabled: !editable, 'aria-label': t('pe.rule_val')}),
      editable ? el('button', {type: 'button', text: '×', 'aria-label': t('pe.remove'), onclick: (e) => e.target.closest('li').remove()}) : null);
  }

  // The draft as the form has it: the members the form shows are rebuilt,
  // those it does not show (timezone, campaigns, alerts, revoked devices)
  // stay as they were.
  readForm() {
    const f = this.form;
    const q = (s) => f.querySelector(s);
    const doc = JSON.parse(JSON.stringify(this.base || {}));
    for (const k of ['opening_hours', 'special_days', 'closures', 'divert_to']) delete doc[k];
    const oh = {};
    for (const d of DAYS) {
      const v = q(`#pe-oh-${d}`).value.trim();
      if (v === '-') oh[d] = [];
      else if (v) oh[d] = splitList(v);
    }
    if (Object.keys(oh).length) doc.opening_hours = oh;
    const sd = {};
    for (const li of f.querySelectorAll('.sd-row')) {
      const date = li.querySelector('.sd-date').value;
      if (!date) continue;
      sd[date] = {hours: splitList(li.querySelector('.sd-hours').value)};
      const note = li.querySelector('.sd-note').value.trim();
      if (note) sd[date].note = note;
    }
    if (Object.keys(sd).length) doc.special_days = sd;
    const cl = {};
    for (const li of f.querySelectorAll('.cl-row')) {
      const id = li.querySelector('.cl-id').value.trim();
      if (!id) continue;
      const c = {};
      for (const [k, sel] of [['from', '.cl-from'], ['to', '.cl-to']]) if (li.querySelector(sel).value) c[k] = li.querySelector(sel).value;
      const notice = li.querySelector('.cl-notice').value.trim();
      if (notice) c.notice = notice;
      const divert = [...li.querySelector('.cl-divert').selectedOptions].map((o) => o.value);
      if (divert.length) c.divert_to = divert;
      cl[id] = c;
    }
    if (Object.keys(cl).length) doc.closures = cl;
    const sla = doc.sla || {};
    const num = (s) => (q(s).value.trim() === '' ? undefined : Number(q(s).value));
    const waits = {};
    if (num('#pe-wait') !== undefined) waits['*:*'] = num('#pe-wait');
    for (const li of f.querySelectorAll('.rule-row')) {
      const k = li.querySelector('.rule-key').value.trim();
      if (k) waits[k] = Number(li.querySelector('.rule-val').value);
    }
    delete sla.max_wait_s;
    if (Object.keys(waits).length) sla.max_wait_s = waits;
    for (const [k, sel] of [['complaint_ack_s', '#pe-ack'], ['complaint_resolve_s', '#pe-resolve']]) {
      const v = num(sel);
      if (v === undefined) {
        if (sla[k]) delete sla[k]['*'];
        if (sla[k] && !Object.keys(sla[k]).length) delete sla[k];
      } else sla[k] = {...(sla[k] || {}), '*': v};
    }
    if (Object.keys(sla).length) doc.sla = sla;
    else delete doc.sla;
    const div = doc.diversion || {};
    if (num('#pe-threshold') !== undefined) div.threshold = num('#pe-threshold');
    else delete div.threshold;
    const ech = splitList(q('#pe-echannels').value);
    if (ech.length) div.echannels = ech;
    else delete div.echannels;
    if (Object.keys(div).length) doc.diversion = div;
    else delete doc.diversion;
    const divert = splitList(q('#pe-divert').value);
    if (divert.length) doc.divert_to = divert;
    return doc;
  }

  path() {
    return this.scope === 'national' ? '/v1/policies/national'
      : this.scope.startsWith('region/') ? `/v1/policies/regions/${encodeURIComponent(this.scope.slice(7))}`
        : `/v1/policies/halls/${encodeURIComponent(this.scope.slice(5))}`;
  }

  // The refusal next to the field whose path is the longest prefix of the
  // path the server names.
  showRefusal(reason) {
    const path = pathOfReason(reason);
    let best = null;
    let bestLen = -1;
    for (const f of this.form.querySelectorAll('.field')) {
      const p = f.dataset.path;
      const first = p.split('.')[0];
      if ((path === p || path.startsWith(`${p}.`) || path.startsWith(`${first}.`) || path === first) && p.length > bestLen) {
        const exact = path === p || path.startsWith(`${p}.`);
        const len = exact ? p.length + 1000 : p.length;
        if (len > bestLen) {
          best = f;
          bestLen = len;
        }
      }
    }
    const ul = best ? best.querySelector('.field-findings') : this.form.querySelector('.field-findings[data-path=""]');
    ul.append(el('li', {class: 'finding sev-error', data: {path}}, t('pe.refused_field', {reason})));
    if (best) best.classList.add('has-error');
  }

  async save() {
    for (const ul of this.form.querySelectorAll('.field-findings')) clear(ul);
    for (const f of this.form.querySelectorAll('.field')) f.classList.remove('has-error');
    const refusal = this.root.querySelector('#pe-refusal');
    refusal.textContent = '';
    const r = await api(this.path(), {method: 'PUT', body: this.readForm()});
    if (r.status !== 200 && r.status !== 201) {
      if (r.body && r.body.error === 'bad_document') this.showRefusal(r.body.reason);
      refusal.textContent = t('refusal.other', {status: r.status, reason: r.body ? r.body.reason : ''});
      refusal.dataset.status = String(r.status);
      return false;
    }
    const scope = this.scope;
    await this.show();
    this.scope = scope;
    this.root.querySelector('#pe-status').textContent = t('pe.saved');
    return true;
  }

  async publish() {
    const note = this.root.querySelector('#pe-note').value.trim();
    const refusal = this.root.querySelector('#pe-refusal');
    refusal.textContent = '';
    const r = await api('/v1/policies/publish', {method: 'POST', body: note ? {note} : {}});
    if (r.status !== 200) {
      refusal.textContent = t('refusal.other', {status: r.status, reason: r.body ? r.body.reason : ''});
      refusal.dataset.status = String(r.status);
      return;
    }
    await this.show();
    const st = this.root.querySelector('#pe-status');
    st.textContent = t('pe.published', {v: r.body.version});
    st.dataset.version = String(r.body.version);
  }

  // The preview hall's effective policy with the drafts, each value with
  // the scope it comes from.
  async loadEffective() {
    const box = this.root.querySelector('#pe-effective');
    const hall = this.previewHall;
    if (!hall) return;
    const r = await api(`/v1/policies/effective/${encodeURIComponent(hall)}?drafts=1`);
    if (r.status !== 200 || !r.body) {
      box.append(el('p', {class: 'note', text: t('pe.effective_failed', {status: r.status})}));
      return;
    }
    const p = r.body.policy;
    const rows = [];
    for (const d of DAYS) rows.push([`opening_hours.${d}`, t(`day.${d}`), (p.opening_hours[d] || []).join(', ') || t('pe.closed')]);
    for (const [date, s] of Object.entries(p.special_days || {})) {
      rows.push([`special_days.${date}`, date, `${(s.hours || []).join(', ') || t('pe.closed')} ${s.note || ''}`]);
    }
    for (const [id, c] of Object.entries(p.closures || {})) {
      rows.push([`closures.${id}`, t('pe.closure', {id}), t('pe.closure_value', {from: c.from, to: c.to, divert: (c.divert_to || []).join(', ') || '–', notice: c.notice || ''})]);
    }
    for (const [k, v] of Object.entries(p.sla.max_wait_s)) rows.push([`sla.max_wait_s.${k}`, t('pe.wait_rule', {k}), t('pe.minutes', {n: fmtNumber(Math.round(v / 60))})]);
    rows.push(['sla.complaint_ack_s.*', t('pe.ack'), t('pe.minutes', {n: fmtNumber(Math.round(p.sla.complaint_ack_s['*'] / 60))})]);
    rows.push(['diversion.threshold', t('pe.threshold'), fmtNumber(p.diversion.threshold)]);
    rows.push(['divert_to', t('pe.divert_to'), (p.divert_to || []).join(', ') || '–']);
    const tbody = el('tbody');
    for (const [path, label, value] of rows) {
      const from = this.setBy(hall, path.split('.'));
      tbody.append(el('tr', {data: {path, from}}, el('th', {text: label}), el('td', {text: value}),
        el('td', {class: 'from', text: this.scopeLabel(from)})));
    }
    box.append(el('table', {class: 'ws-table effective'},
      el('thead', {}, el('tr', {}, el('th', {text: t('pe.field')}), el('th', {text: t('pe.value')}), el('th', {text: t('pe.from_scope')}))), tbody));
  }

  async loadRollout() {
    const box = this.root.querySelector('#pe-rollout');
    const r = await api('/v1/rollout?halls=1000');
    if (r.status !== 200 || !r.body) return;
    const v = r.body.policy;
    box.append(el('h3', {text: t('ro.policy', {v: v.version, n: v.halls})}),
      el('div', {class: 'rfigs ro-row', data: {kind: 'policy', version: String(v.version)}},
        ...['applied', 'pending', 'offline', 'refused'].map((k) => el('div', {class: `ro-part r-${k}`, data: {part: k}},
          el('b', {text: fmtNumber(v[k])}), ` ${t(`ro.${k}`)}`,
          (v[`${k}_halls`] || []).length ? el('span', {class: 'ro-halls', text: `: ${v[`${k}_halls`].join(' ')}`}) : null))),
      refusalList(v) || '');
  }
}
