// Campaigns in the workspace (workspace.js mounts three of these): the list
// by state and owner region, kept to the person's scope by HQ; the editor,
// where the coordination check (POST /v1/calendar/check with the unsaved
// document, nothing stored) runs as the marketer types and each finding is
// shown next to the field it concerns; the lifecycle's buttons; each
// campaign's history; the reviewer's queue with the changes since the last
// review side by side (against the document HQ kept at the last return or
// approval); and the glossary. Not here: the rules themselves
// (hqd/control/calcheck.c decides; this page only words the findings) and
// the calendar chart (gantt.js).

import {api, clear, el} from './util.js';
import {fmtDate, fmtWhen, t} from './editors-t.js';
import {inScope, scopesOf} from './workspace.js';

export const STATES = ['draft', 'submitted', 'approved', 'published', 'withdrawn'];
const CHANNELS = ['signage', 'kiosk', 'counter_script'];
const CHECK_DELAY_MS = 400;
const LEVEL_OF = {national: 'head_office', province: 'province', city: 'city'};

// The glossary's bounds, as HQ's (hallbus/calendar.h: what a hall's slice
// holds): checked here so that each problem shows next to its field.
const GL_DEFINITION_MAX = 1000;
const GL_EXAMPLES_MAX = 8;
const GL_EXAMPLE_MAX = 300;
const utf8Length = (s) => new TextEncoder().encode(s).length;

// The field each rule's finding is shown at (CAMPAIGNS.md's rules 0..6).
export const FIELD_OF_RULE = {
  scope: 'scope', faq: 'faq', concurrency: 'dates', product: 'products',
  city_overlap: 'parent', glossary: 'texts', lead_time: 'dates',
};
// The field a refusal of the document names first ("texts.kiosk: ...").
const FIELDS = ['id', 'title', 'level', 'region', 'parent', 'scope', 'start', 'end', 'products',
  'business_types', 'segment', 'channels', 'texts', 'faq'];
const FIELD_OF_MEMBER = {start: 'dates', end: 'dates', level: 'region', business_types: 'products',
  segment: 'products', channels: 'texts'};

export function fieldOfReason(reason) {
  const m = /^([A-Za-z_]+)/.exec(reason || '');
  if (!m || !FIELDS.includes(m[1])) return 'general';
  return FIELD_OF_MEMBER[m[1]] || m[1];
}

const splitList = (s) => s.split(/[,，\s]+/).map((x) => x.trim()).filter(Boolean);
const todayIso = () => new Date().toISOString().slice(0, 10);
const daysBetween = (a, b) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86400000);

// A finding worded in the page from its code and parameters (the server's
// English message is kept as the element's title).
export function wordFinding(f, self) {
  const others = (f.campaigns || []).filter((c) => c !== self).join(', ');
  const p = {
    others: others || '–', n: f.halls ? f.halls.count : 0,
    sample: f.halls ? f.halls.sample.join(', ') : '',
    first: f.days ? fmtDate(f.days.first) : '', last: f.days ? fmtDate(f.days.last) : '',
    subjects: (f.subjects || []).join(', '), campaigns: (f.campaigns || []).length,
  };
  return t(`find.${f.code}`, p);
}

// Terms of the glossary a text uses (as rule 5 matches them: whole words,
// case-insensitive for ASCII; CJK anywhere).
export function termsUsed(glossary, text) {
  const out = [];
  for (const g of glossary) {
    const term = g.term;
    const esc = term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    const cjk = /[\u3000-\u9fff]/.test(term);
    const re = cjk ? new RegExp(esc, 'i') : new RegExp(`(^|[^A-Za-z0-9])${esc}($|[^A-Za-z0-9])`, 'i');
    if (re.test(text)) out.push(g);
  }
  return out;
}

// Who created or last edited: the two four eyes keep from approving.
export function authors(c) {
  const out = new Set();
  let last = null;
  for (const h of c.history || []) {
    if (h.action === 'create') out.add(h.by);
    if (h.action === 'create' || h.action === 'edit') last = h.by;
  }
  if (last) out.add(last);
  return out;
}

const DOC_MEMBERS = ['id', 'title', 'level', 'region', 'parent', 'scope', 'start', 'end', 'products',
  'business_types', 'segment', 'channels', 'texts', 'faq'];
const docOf = (c) => {
  const d = {};
  for (const k of DOC_MEMBERS) if (c[k] !== undefined && c[k] !== null) d[k] = c[k];
  return d;
};

export class CampaignEditor {
  constructor(ctx, mode) {
    this.ctx = ctx;
    this.mode = mode;
    this.list = [];
    this.glossary = [];
    this.filter = {state: '', region: ''};
    this.editing = null; // the stored form being edited, or {} for a new one
    this.checkTimer = null;
    this.checkSeq = 0;
  }

  mount(root) {
    this.root = root;
  }

  async show() {
    const g = await api('/v1/glossary');
    this.glossary = g.status === 200 && g.body ? g.body.terms || [] : [];
    if (this.mode === 'glossary') return this.drawGlossary();
    await this.loadList();
    if (this.mode === 'review') this.drawReview();
    else if (!this.editing) this.drawList();
  }

  async loadList() {
    const r = await api('/v1/calendar/export');
    if (r.status === 200 && r.body) {
      this.list = r.body.campaigns || [];
      this.calendarVersion = r.body.calendar_version;
    }
    // The export is every campaign; the list keeps those owned in the
    // person's scope, as GET /v1/campaigns does.
    const l = await api('/v1/campaigns');
    if (l.status === 200 && l.body) {
      const mine = new Set(l.body.campaigns.map((c) => c.id));
      this.list = this.list.filter((c) => mine.has(c.id));
    }
  }

  note(text, cls = 'note') {
    return el('p', {class: cls, text});
  }

  // ---- the list

  drawList() {
    const root = this.root;
    clear(root);
    const bar = el('div', {class: 'ws-bar'});
    const stateSel = el('select', {id: 'cl-state', 'aria-label': t('cl.state'),
      onchange: (e) => { this.filter.state = e.target.value; this.drawList(); }},
    el('option', {value: ''}, t('cl.all_states')),
    ...STATES.map((s) => el('option', {value: s, selected: this.filter.state === s}, t(`state.${s}`))));
    const regions = [...this.ctx.org.regions.values()];
    const regionSel = el('select', {id: 'cl-region', 'aria-label': t('cl.region'),
      onchange: (e) => { this.filter.region = e.target.value; this.drawList(); }},
    el('option', {value: ''}, t('cl.all_regions')),
    ...regions.map((r) => el('option', {value: r.id, selected: this.filter.region === r.id}, `${r.name} (${r.id})`)));
    bar.append(el('label', {for: 'cl-state', text: t('cl.state')}), stateSel,
      el('label', {for: 'cl-region', text: t('cl.region')}), regionSel);
    if (this.ctx.perms.draft) {
      bar.append(el('button', {type: 'button', id: 'cl-new', class: 'primary', text: t('cl.new'),
        onclick: () => this.openNew()}));
    }
    root.append(el('h2', {text: t('cl.title')}), bar);
    let shown = this.list;
    if (this.filter.state) shown = shown.filter((c) => c.state === this.filter.state);
    if (this.filter.region) shown = shown.filter((c) => this.ctx.org.under(c.region, this.filter.region));
    for (const st of STATES) {
      const rows = shown.filter((c) => c.state === st);
      if (!rows.length) continue;
      const tbody = el('tbody');
      for (const c of rows) {
        tbody.append(el('tr', {data: {campaign: c.id, state: c.state}},
          el('td', {}, el('button', {type: 'button', class: 'link', text: c.title, onclick: () => this.openCampaign(c.id)})),
          el('td', {text: c.id}), el('td', {text: t(`level.${c.level}`)}), el('td', {text: c.region}),
          el('td', {text: `${fmtDate(c.start)} – ${fmtDate(c.end)}`}), el('td', {class: 'num', text: String(c.halls)})));
      }
      root.append(el('h3', {class: `st s-${st}`, text: `${t(`state.${st}`)} (${rows.length})`}),
        el('table', {class: 'ws-table', data: {state: st}},
          el('thead', {}, el('tr', {}, ...['cl.col.title', 'cl.col.id', 'cl.col.level', 'cl.col.region',
            'cl.col.dates', 'cl.col.halls'].map((k) => el('th', {text: t(k)})))), tbody));
    }
    if (!shown.length) root.append(this.note(t('cl.empty')));
  }

  openNew() {
    const scopes = scopesOf('campaign.draft');
    const own = [...this.ctx.org.regions.values()].find((r) => inScope(this.ctx.org, scopes, r.id));
    this.editing = {};
    this.drawEditor({
      id: '', title: '', region: own ? own.id : '', level: own ? LEVEL_OF[own.level] : 'city',
      scope: {regions: [], halls: [], tags: []}, start: '', end: '', products: [], business_types: [],
      segment: '', channels: ['kiosk'], texts: {kiosk: ''}, faq: [],
    });
  }

  async openCampaign(id) {
    const r = await api(`/v1/campaigns/${encodeURIComponent(id)}`);
    if (r.status !== 200 || !r.body) {
      clear(this.root);
      this.root.append(this.note(t('ce.load_failed', {status: r.status})));
      return;
    }
    this.editing = r.body;
    this.drawEditor(docOf(r.body));
  }

  // ---- the editor

  drawEditor(doc) {
    const c = this.editing;
    const editable = this.ctx.perms.draft && (!c.state || c.state === 'draft');
    const root = this.root;
    clear(root);
    this.doc = doc;
    const org = this.ctx.org;
    const form = el('form', {id: 'ce-form', class: 'ws-form', novalidate: true, onsubmit: (e) => e.preventDefault(),
      oninput: () => this.changed(), onchange: () => this.changed()});
    const field = (name, label, ...inputs) => el('div', {class: 'field', data: {field: name}},
      el('span', {class: 'flabel', text: label}), ...inputs,
      el('ul', {class: 'field-findings', data: {for: name}, 'aria-live': 'polite'}));
    const input = (id, value, attrs = {}) => el('input', {id, value: value ?? '', disabled: !editable, ...attrs});

    const scopes = scopesOf('campaign.draft');
    const owners = [...org.regions.values()].filter((r) => !editable || inScope(org, scopes, r.id));
    const parents = this.list.filter((x) => x.id !== doc.id && x.level !== 'city' &&
      ['approved', 'published', 'submitted'].includes(x.state));

    form.append(
      field('id', t('ce.id'), input('ce-id', doc.id, {disabled: !editable || !!c.state, pattern: '[A-Za-z0-9_-]{1,64}'})),
      field('title', t('ce.title'), input('ce-title', doc.title, {maxlength: 200})),
      field('region', t('ce.region'), el('select', {id: 'ce-region', disabled: !editable},
        ...owners.map((r) => el('option', {value: r.id, selected: r.id === doc.region},
          `${t(`level.${LEVEL_OF[r.level]}`)} · ${r.name} (${r.id})`)))),
      field('parent', t('ce.parent'), el('select', {id: 'ce-parent', disabled: !editable},
        el('option', {value: ''}, t('ce.no_parent')),
        ...parents.map((p) => el('option', {value: p.id, selected: p.id === doc.parent}, `${p.title} (${p.id})`)))),
      field('dates', t('ce.dates'), el('span', {class: 'pair'},
        input('ce-start', doc.start, {type: 'date'}), el('span', {text: '–'}), input('ce-end', doc.end, {type: 'date'})),
      el('span', {id: 'ce-lead', class: 'note'})),
      field('products', t('ce.products'),
        input('ce-products', (doc.products || []).join(', '), {placeholder: t('ce.products_hint')}),
        input('ce-business', (doc.business_types || []).join(', '), {placeholder: t('ce.business_hint')}),
        input('ce-segment', doc.segment, {placeholder: t('ce.segment_hint')})),
      field('texts', t('ce.texts'), el('div', {class: 'channels'},
        ...CHANNELS.map((ch) => el('label', {class: 'check'},
          el('input', {type: 'checkbox', id: `ce-ch-${ch}`, checked: (doc.channels || []).includes(ch), disabled: !editable}),
          t(`channel.${ch}`)))),
      ...CHANNELS.map((ch) => el('textarea', {id: `ce-text-${ch}`, rows: 2, maxlength: 2000, disabled: !editable,
        hidden: !(doc.channels || []).includes(ch), placeholder: t(`channel.${ch}`)},
      (doc.texts || {})[ch] || '')),
      el('div', {id: 'ce-terms', class: 'terms'})),
      field('faq', t('ce.faq'), el('ol', {id: 'ce-faq', class: 'faq'},
        ...(doc.faq || []).map((q, i) => this.faqRow(q, i, editable))),
      editable ? el('button', {type: 'button', id: 'ce-faq-add', text: t('ce.faq_add'), onclick: () => {
        const ol = this.root.querySelector('#ce-faq');
        ol.append(this.faqRow({question: '', answer: ''}, ol.children.length, true));
        this.changed();
      }}) : null),
      field('scope', t('ce.scope'), this.scopePicker(doc, editable)),
      el('ul', {class: 'field-findings', data: {for: 'general'}, 'aria-live': 'polite'}));

    const actions = el('div', {class: 'ws-actions'});
    const back = el('button', {type: 'button', id: 'ce-back', text: t('ce.back'), onclick: () => {
      this.editing = null;
      this.show();
    }});
    actions.append(back);
    if (editable) {
      actions.append(el('button', {type: 'button', id: 'ce-save', text: t('ce.save'), onclick: () => this.save(false)}));
      actions.append(el('button', {type: 'button', id: 'ce-submit', class: 'primary', text: t('ce.submit'),
        onclick: () => this.save(true)}));
    }
    if (this.ctx.perms.draft && ['approved', 'published'].includes(c.state)) {
      actions.append(el('button', {type: 'button', id: 'ce-withdraw', text: t('ce.withdraw'),
        onclick: () => this.step(c.id, 'withdraw', this.root.querySelector('#ce-note').value)}));
    }
    if (c.state) actions.append(el('input', {id: 'ce-note', placeholder: t('ce.note'), maxlength: 500}));

    const head = el('div', {class: 'ce-head'},
      el('h2', {text: c.state ? `${doc.title} · ${t(`state.${c.state}`)}` : t('ce.new_title')}),
      c.state ? el('span', {class: `badge s-${c.state}`, id: 'ce-state', data: {state: c.state}, text: t(`state.${c.state}`)}) : null);
    root.append(head, el('p', {id: 'ce-status', class: 'ws-status', role: 'status'}),
      el('p', {id: 'ce-refusal', class: 'ws-refusal', role: 'alert'}), form, actions);
    if (c.history) root.append(this.historyView(c));
    this.changed();
  }

  faqRow(q, i, editable) {
    return el('li', {class: 'faq-row'},
      el('input', {class: 'faq-q', value: q.question || '', placeholder: t('ce.faq_q'), disabled: !editable, 'aria-label': t('ce.faq_q')}),
      el('textarea', {class: 'faq-a', rows: 1, placeholder: t('ce.faq_a'), disabled: !editable, 'aria-label': t('ce.faq_a')}, q.answer || ''),
      editable ? el('button', {type: 'button', class: 'faq-del', 'aria-label': t('ce.faq_del'), text: '×', onclick: (e) => {
        e.target.closest('li').remove();
        this.changed();
      }}) : null);
  }

  // The region tree (provinces, cities) with a check box each, and under
  // each city its halls, for the scope.
  scopePicker(doc, editable) {
    const org = this.ctx.org;
    const s = doc.scope || {};
    const tree = el('ul', {class: 'tree', id: 'ce-scope'});
    const node = (rid) => {
      const r = org.regions.get(rid);
      const li = el('li', {},
        el('label', {class: 'check'}, el('input', {type: 'checkbox', class: 'sc-region', value: rid,
          checked: (s.regions || []).includes(rid), disabled: !editable}), `${r.name} (${rid})`));
      const kids = el('ul');
      for (const c of org.children.get(rid) || []) kids.append(node(c));
      for (const h of org.halls.values()) {
        if (h.city !== rid) continue;
        kids.append(el('li', {}, el('label', {class: 'check hall'}, el('input', {type: 'checkbox', class: 'sc-hall',
          value: h.id, checked: (s.halls || []).includes(h.id), disabled: !editable}), `${h.name || h.id} (${h.id})`)));
      }
      if (kids.children.length) li.append(kids);
      return li;
    };
    if (org.root) for (const c of org.children.get(org.root) || []) tree.append(node(c));
    return el('div', {}, tree,
      el('input', {id: 'ce-tags', value: (s.tags || []).join(', '), placeholder: t('ce.tags_hint'), disabled: !editable}),
      el('span', {id: 'ce-reach', class: 'note'}));
  }

  // The document as the form has it now.
  readForm() {
    const q = (sel) => this.root.querySelector(sel);
    const region = q('#ce-region') ? q('#ce-region').value : this.doc.region;
    const r = this.ctx.org.regions.get(region);
    const channels = CHANNELS.filter((ch) => q(`#ce-ch-${ch}`).checked);
    const texts = {};
    for (const ch of channels) texts[ch] = q(`#ce-text-${ch}`).value;
    const faq = [...this.root.querySelectorAll('#ce-faq li')].map((li) => ({
      question: li.querySelector('.faq-q').value, answer: li.querySelector('.faq-a').value,
    })).filter((f) => f.question || f.answer);
    const doc = {
      id: q('#ce-id').value.trim(), title: q('#ce-title').value.trim(),
      level: r ? LEVEL_OF[r.level] : this.doc.level, region,
      scope: {
        regions: [...this.root.querySelectorAll('.sc-region:checked')].map((x) => x.value),
        halls: [...this.root.querySelectorAll('.sc-hall:checked')].map((x) => x.value),
        tags: splitList(q('#ce-tags').value),
      },
      start: q('#ce-start').value, end: q('#ce-end').value,
      products: splitList(q('#ce-products').value), business_types: splitList(q('#ce-business').value),
      segment: q('#ce-segment').value.trim(), channels, texts,
    };
    if (faq.length) doc.faq = faq;
    if (q('#ce-parent').value) doc.parent = q('#ce-parent').value;
    return doc;
  }

  // Something in the form changed: the texts' terms, the reach and the lead
  // time at once, the check after a pause in typing.
  changed() {
    const doc = this.readForm();
    for (const ch of CHANNELS) this.root.querySelector(`#ce-text-${ch}`).hidden = !doc.channels.includes(ch);
    const terms = termsUsed(this.glossary, Object.values(doc.texts).join('\n'));
    const box = this.root.querySelector('#ce-terms');
    clear(box);
    if (terms.length) {
      box.append(el('span', {class: 'note', text: t('ce.terms_used')}));
      for (const g of terms) {
        box.append(el('a', {class: 'term', href: `#glossary-${encodeURIComponent(g.term)}`, title: g.definition || '',
          data: {term: g.term}, onclick: (e) => {
            e.preventDefault();
            this.ctx.ws.open('glossary');
          }}, g.term), el('span', {class: 'term-def', text: g.definition ? `: ${g.definition}` : `: ${t('ce.term_undefined')}`}));
      }
    }
    const reach = this.ctx.org.reach(doc);
    this.root.querySelector('#ce-reach').textContent = t('ce.reach', {n: reach.length});
    const lead = this.root.querySelector('#ce-lead');
    lead.textContent = doc.start ? t('ce.lead', {n: daysBetween(todayIso(), doc.start)}) : '';
    if (!this.editing.state || this.editing.state === 'draft') {
      clearTimeout(this.checkTimer);
      this.checkTimer = setTimeout(() => this.check(), CHECK_DELAY_MS);
    }
  }

  async check() {
    const doc = this.readForm();
    const seq = ++this.checkSeq;
    const r = await api('/v1/calendar/check', {method: 'POST', body: doc});
    if (seq !== this.checkSeq || !this.root.querySelector('#ce-form')) return;
    for (const ul of this.root.querySelectorAll('.field-findings')) clear(ul);
    for (const f of this.root.querySelectorAll('.field')) f.classList.remove('has-error', 'has-warning');
    const status = this.root.querySelector('#ce-status');
    if (r.status === 400 && r.body) {
      // The document is not a campaign yet: the member the server names.
      this.showAt(fieldOfReason(r.body.reason), 'error', 'document', t('ce.doc_error', {reason: r.body.reason}), r.body.reason);
      status.textContent = t('ce.incomplete');
      status.dataset.state = 'incomplete';
      return;
    }
    if (r.status !== 200 || !r.body) {
      status.textContent = t('ce.check_failed', {status: r.status});
      status.dataset.state = 'failed';
      return;
    }
    const mine = (r.body.findings || []).filter((f) => (f.campaigns || []).includes(doc.id));
    for (const f of mine) this.showAt(FIELD_OF_RULE[f.code] || 'general', f.severity, f.code, wordFinding(f, doc.id), f.message);
    const errors = mine.filter((f) => f.severity === 'error').length;
    status.textContent = errors ? t('ce.check_errors', {errors: t('ce.errors', {n: errors}), warnings: t('ce.warnings', {n: mine.length - errors})})
      : t('ce.check_ok', {warnings: t('ce.warnings', {n: mine.length})});
    status.dataset.state = errors ? 'errors' : 'ok';
    status.dataset.findings = String(mine.length);
  }

  showAt(fieldName, severity, code, text, title) {
    const ul = this.root.querySelector(`.field-findings[data-for="${fieldName}"]`) ||
      this.root.querySelector('.field-findings[data-for="general"]');
    ul.append(el('li', {class: `finding sev-${severity}`, data: {rule: code, severity}, title: title || ''}, text));
    const f = ul.closest('.field');
    if (f) f.classList.add(severity === 'error' ? 'has-error' : 'has-warning');
  }

  async save(submit) {
    const doc = this.readForm();
    const refusal = this.root.querySelector('#ce-refusal');
    refusal.textContent = '';
    const isNew = !this.editing.state;
    const r = isNew
      ? await api('/v1/campaigns', {method: 'POST', body: doc})
      : await api(`/v1/campaigns/${encodeURIComponent(doc.id)}`, {method: 'PUT', body: doc});
    if (r.status !== 200 && r.status !== 201) {
      this.refused(r);
      if (r.body && r.body.error === 'bad_document') {
        this.showAt(fieldOfReason(r.body.reason), 'error', 'document', t('ce.doc_error', {reason: r.body.reason}), r.body.reason);
      }
      return;
    }
    this.editing = r.body;
    if (submit) {
      await this.step(doc.id, 'submit');
      return;
    }
    await this.loadList();
    this.drawEditor(docOf(r.body));
    this.root.querySelector('#ce-status').textContent = t('ce.saved', {rev: r.body.revision});
  }

  refused(r) {
    const refusal = this.root.querySelector('#ce-refusal') || this.root.querySelector('.ws-refusal');
    const reason = r.body && r.body.reason ? r.body.reason : '';
    const code = r.body && r.body.error ? r.body.error : String(r.status || '');
    refusal.textContent = t(`refusal.${r.status}`) === `⟦refusal.${r.status}⟧`
      ? t('refusal.other', {status: r.status, reason}) : t(`refusal.${r.status}`, {reason});
    refusal.dataset.status = String(r.status);
    refusal.dataset.error = code;
  }

  async step(id, action, note) {
    const body = note ? {note} : {};
    const r = await api(`/v1/campaigns/${encodeURIComponent(id)}/${action}`, {method: 'POST', body});
    if (r.status !== 200) {
      this.refused(r);
      if (r.status === 409 && r.body && r.body.report) {
        for (const f of r.body.report.findings.filter((x) => x.campaigns.includes(id))) {
          this.root.querySelector('.ws-refusal').append(el('span', {class: 'finding sev-error', data: {rule: f.code}}, ` ${wordFinding(f, id)}`));
        }
      }
      return false;
    }
    if (this.mode === 'review') {
      await this.loadList();
      this.drawReview(t(`done.${action}`, {id}));
    } else {
      this.editing = r.body.campaign;
      await this.loadList();
      this.drawEditor(docOf(r.body.campaign));
      this.root.querySelector('#ce-status').textContent = t(`done.${action}`, {id});
    }
    return true;
  }

  historyView(c) {
    const ol = el('ol', {class: 'history', id: 'ce-history'});
    for (const h of c.history || []) {
      ol.append(el('li', {data: {action: h.action, by: h.by}},
        el('time', {text: fmtWhen(h.at_ms)}), ' ',
        el('b', {text: t(`action.${h.action}`)}), ' ',
        t('history.by', {by: h.by, from: t(`state.${h.from}`), to: t(`state.${h.to}`)}),
        h.note ? el('q', {text: h.note}) : null));
    }
    return el('section', {class: 'ws-history'}, el('h3', {text: t('ce.history')}), ol);
  }

  // ---- the review queue

  drawReview(done) {
    const root = this.root;
    clear(root);
    root.append(el('h2', {text: t('rv.title')}), el('p', {id: 'rv-status', class: 'ws-status', role: 'status', text: done || ''}),
      el('p', {class: 'ws-refusal', id: 'rv-refusal', role: 'alert'}));
    const queue = this.list.filter((c) => c.state === 'submitted' || c.state === 'approved');
    if (!queue.length) {
      root.append(this.note(t('rv.empty')));
      return;
    }
    const me = this.ctx.me ? this.ctx.me.name : '';
    for (const c of queue) root.append(this.reviewCard(c, me));
  }

  reviewCard(listed, me) {
    const card = el('article', {class: 'rv-card', data: {campaign: listed.id, state: listed.state}});
    card.append(el('h3', {}, `${listed.title} `, el('span', {class: `badge s-${listed.state}`, text: t(`state.${listed.state}`)})));
    const body = el('div', {class: 'rv-body'}, this.note(t('rv.loading')));
    card.append(body);
    api(`/v1/campaigns/${encodeURIComponent(listed.id)}`).then((r) => {
      clear(body);
      if (r.status !== 200 || !r.body) {
        body.append(this.note(t('ce.load_failed', {status: r.status})));
        return;
      }
      const c = r.body;
      const mine = authors(c).has(me);
      // What the last review judged, as HQ kept it (the same for every
      // reviewer, on any machine).
      const last = c.last_reviewed || null;
      body.append(this.sideBySide(last ? docOf(last.document || {}) : null, docOf(c), last));
      const note = el('input', {class: 'rv-note', placeholder: t('rv.reason'), maxlength: 500, 'aria-label': t('rv.reason')});
      const acts = el('div', {class: 'ws-actions'});
      const btn = (action, cls) => el('button', {type: 'button', class: `rv-${action} ${cls || ''}`, data: {action},
        disabled: mine && (action === 'approve' || action === 'publish'),
        title: mine && (action === 'approve' || action === 'publish') ? t('rv.four_eyes') : '',
        text: t(`rv.${action}`), onclick: () => {
          if (action === 'return' && !note.value.trim()) {
            note.focus();
            this.root.querySelector('#rv-refusal').textContent = t('rv.reason_needed');
            return;
          }
          this.step(c.id, action, note.value.trim());
        }});
      if (c.state === 'submitted') acts.append(btn('approve', 'primary'), note, btn('return'));
      if (c.state === 'approved') acts.append(btn('publish', 'primary'));
      if (mine) acts.append(el('span', {class: 'note four-eyes', text: t('rv.four_eyes')}));
      body.append(acts, this.historyView(c));
    });
    return card;
  }

  // The document at the last review and now, member by member, the
  // changed ones marked.
  sideBySide(before, now, last) {
    const show = (v) => (v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v));
    const table = el('table', {class: 'ws-table diff'},
      el('thead', {}, el('tr', {}, el('th', {text: t('rv.member')}), el('th', {text: t('rv.before')}), el('th', {text: t('rv.now')}))));
    const tbody = el('tbody');
    for (const k of DOC_MEMBERS) {
      const a = before ? before[k] : undefined;
      const b = now[k];
      const changed = JSON.stringify(a) !== JSON.stringify(b);
      if (!changed && !['title', 'start', 'end'].includes(k)) continue;
      tbody.append(el('tr', {class: changed ? 'changed' : '', data: {member: k}},
        el('th', {text: t(`member.${k}`)}), el('td', {text: show(a)}), el('td', {text: show(b)})));
    }
    table.append(tbody);
    const lead = last
      ? t('rv.since_review', {by: last.by, action: t(`action.${last.action}`), when: fmtWhen(last.at_ms)})
      : t('rv.first_review');
    return el('div', {class: 'rv-diff', data: {since: last ? String(last.revision) : ''}}, this.note(lead), table);
  }

  // ---- the glossary

  drawGlossary() {
    const root = this.root;
    clear(root);
    const editable = this.ctx.perms.admin;
    root.append(el('h2', {text: t('gl.title')}), this.note(t('gl.help')),
      el('p', {id: 'gl-status', class: 'ws-status', role: 'status'}), el('p', {id: 'gl-refusal', class: 'ws-refusal', role: 'alert'}));
    const tbody = el('tbody', {id: 'gl-rows'});
    const errs = (field) => el('ul', {class: 'field-findings', data: {for: field}, 'aria-live': 'polite'});
    const example = (text) => el('li', {class: 'gl-example-row'},
      el('input', {class: 'gl-example', value: text || '', maxlength: GL_EXAMPLE_MAX, disabled: !editable, 'aria-label': t('gl.example')}),
      editable ? el('button', {type: 'button', class: 'gl-example-remove', text: '×', 'aria-label': t('gl.example_remove'),
        onclick: (e) => e.target.closest('li').remove()}) : null,
      errs('example'));
    const row = (g) => {
      const list = el('ul', {class: 'gl-examples'}, ...(g.examples || []).map(example));
      return el('tr', {id: `glossary-${encodeURIComponent(g.term || '')}`, class: 'gl-row'},
        el('td', {class: 'field'}, el('input', {class: 'gl-term', value: g.term || '', maxlength: 100, disabled: !editable, 'aria-label': t('gl.term')}), errs('term')),
        el('td', {class: 'field'}, el('textarea', {class: 'gl-def', rows: 2, maxlength: 1000, disabled: !editable, 'aria-label': t('gl.definition')}, g.definition || ''), errs('definition')),
        el('td', {class: 'field'}, list,
          editable ? el('button', {type: 'button', class: 'gl-example-add', text: t('gl.example_add'),
            onclick: () => list.append(example(''))}) : null, errs('examples')),
        el('td', {}, editable ? el('button', {type: 'button', text: '×', 'aria-label': t('gl.remove'), onclick: (e) => e.target.closest('tr').remove()}) : null));
    };
    for (const g of this.glossary) tbody.append(row(g));
    root.append(el('table', {class: 'ws-table glossary'},
      el('thead', {}, el('tr', {}, el('th', {text: t('gl.term')}), el('th', {text: t('gl.definition')}),
        el('th', {text: t('gl.examples')}), el('th'))), tbody));
    if (!editable) {
      root.append(this.note(t('gl.admin_only')));
      return;
    }
    root.append(el('div', {class: 'ws-actions'},
      el('button', {type: 'button', id: 'gl-add', text: t('gl.add'), onclick: () => tbody.append(row({}))}),
      el('button', {type: 'button', id: 'gl-save', class: 'primary', text: t('gl.save'), onclick: () => this.saveGlossary(tbody)})));
  }

  // Reads the rows, checks what the page can (the server checks it all
  // again), and puts each problem next to its field: a row's term,
  // explanation, or one example; a refusal from the server is placed by
  // the path it names ("terms[2].examples[1]: ...").
  async saveGlossary(tbody) {
    const root = this.root;
    for (const ul of tbody.querySelectorAll('.field-findings')) clear(ul);
    for (const f of [...tbody.querySelectorAll('.has-error')]) f.classList.remove('has-error');
    root.querySelector('#gl-refusal').textContent = '';
    const rows = [...tbody.querySelectorAll('tr.gl-row')];
    const at = (tr, field, k) => {
      if (field === 'example') return tr.querySelectorAll('.gl-example-row')[k] || tr;
      return tr;
    };
    const mark = (tr, field, k, text) => {
      const host = at(tr, field, k);
      const ul = host.querySelector(`.field-findings[data-for="${field === 'example' && host === tr ? 'examples' : field}"]`);
      if (!ul) return;
      ul.append(el('li', {class: 'finding sev-error', data: {field}}, text));
      // The one example, or the cell of the term or explanation, is marked.
      ul.parentElement.classList.add('has-error');
    };
    const terms = [];
    const sent = []; // the row of each term sent, for the server's refusal
    const seen = new Map();
    let bad = 0;
    for (const tr of rows) {
      const g = {term: tr.querySelector('.gl-term').value.trim()};
      const d = tr.querySelector('.gl-def').value.trim();
      const ex = [...tr.querySelectorAll('.gl-example')].map((x) => x.value.trim());
      if (!g.term && !d && ex.every((x) => !x)) continue; // an empty row is no term
      if (!g.term) { mark(tr, 'term', 0, t('gl.err_term_missing')); bad++; }
      const key = g.term.toLowerCase().replace(/\s+/g, ' ');
      if (g.term && seen.has(key)) { mark(tr, 'term', 0, t('gl.err_term_twice', {term: seen.get(key)})); bad++; }
      seen.set(key, g.term);
      if (utf8Length(d) > GL_DEFINITION_MAX) { mark(tr, 'definition', 0, t('gl.err_too_long', {n: GL_DEFINITION_MAX})); bad++; }
      ex.forEach((x, k) => {
        if (!x) { mark(tr, 'example', k, t('gl.err_example_blank')); bad++; }
        else if (utf8Length(x) > GL_EXAMPLE_MAX) { mark(tr, 'example', k, t('gl.err_too_long', {n: GL_EXAMPLE_MAX})); bad++; }
      });
      if (ex.length > GL_EXAMPLES_MAX) { mark(tr, 'examples', 0, t('gl.err_examples_many', {n: GL_EXAMPLES_MAX})); bad++; }
      if (d) g.definition = d;
      if (ex.length) g.examples = ex;
      terms.push(g);
      sent.push(tr);
    }
    if (bad) {
      root.querySelector('#gl-refusal').textContent = t('gl.err_fix', {n: bad});
      return;
    }
    const r = await api('/v1/glossary', {method: 'PUT', body: {terms}});
    if (r.status !== 200) {
      const reason = r.body ? r.body.reason || '' : '';
      const m = /^terms\[(\d+)\]\.?(term|definition|examples)?(?:\[(\d+)\])?/.exec(reason);
      const tr = m ? sent[Number(m[1])] : null;
      if (tr) mark(tr, m[2] === 'examples' && m[3] !== undefined ? 'example' : (m[2] || 'term'), Number(m[3] || 0), reason);
      root.querySelector('#gl-refusal').textContent = t('refusal.other', {status: r.status, reason});
      return;
    }
    this.glossary = r.body.terms;
    this.drawGlossary();
    root.querySelector('#gl-status').textContent = t('gl.saved', {n: this.glossary.length});
  }
}
