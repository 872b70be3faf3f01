// The enrolment page, for admins (docs/DASHBOARD.md, "Enrolment"): the
// halls' requests waiting for head office (hall, region asked, key
// fingerprint, when), approved into a city of the organisation or rejected
// with a reason; the enrolled halls with their certificate's expiry and
// state, each revocable after a confirmation; and bulk enrolment from a CSV
// (hall,region[,name[,address]]: every hall gets a one-time code, shown
// once). Everything it shows or changes goes through HQ's API
// (GET /v1/enrolments and the routes beside it, permission halls.enrol);
// the tab is hidden from whoever lacks it, and HQ refuses them all the same.
// Not here: the rules of enrolment (hqd/api/enrol.c), the organisation's
// editing (the workspace).

import {api, clear, el, fmtDateTime} from './util.js';
import {fmtDate, t} from './i18n.js';
import {session} from './auth.js';

const REASON_MAX = 500; // bytes HQ keeps of a rejection's reason
const CSV_ROWS_MAX = 10000; // halls in one registration, as HQ takes them

// hall,region[,name[,address]] rows (RFC 4180 quotes; a first line
// starting with "hall" is a header): [{hall, region, name?, address?}], or
// {error, line} for the first bad line.
export function parseHallsCsv(text) {
  const rows = [];
  const lines = [];
  let field = '';
  let fields = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      lines.push(fields);
      fields = [];
      field = '';
    } else field += c;
  }
  if (quoted) return {error: 'enrol.csv.quote', line: lines.length + 1};
  if (field !== '' || fields.length) {
    fields.push(field);
    lines.push(fields);
  }
  for (let n = 0; n < lines.length; n++) {
    const f = lines[n].map((x) => x.trim());
    if (f.length === 1 && f[0] === '') continue;
    if (n === 0 && f[0].toLowerCase() === 'hall') continue;
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(f[0]) || !f[1]) return {error: 'enrol.csv.row', line: n + 1};
    const row = {hall: f[0], region: f[1]};
    if (f[2]) row.name = f[2];
    if (f[3]) row.address = f[3];
    rows.push(row);
  }
  if (!rows.length) return {error: 'enrol.csv.empty', line: 0};
  if (rows.length > CSV_ROWS_MAX) return {error: 'enrol.csv.tooMany', line: CSV_ROWS_MAX + 1};
  return {rows};
}

// HQ's refusal as a sentence: its reason, or the status.
function refusal(r) {
  if (r.body && typeof r.body.reason === 'string') return r.body.reason;
  return t('enrol.failed', {status: r.status || t('app.noAnswer')});
}

export class Enrolment {
  constructor(root) {
    this.root = root;
    this.cities = []; // [{id, label}] of the organisation's cities
    this.hallCity = new Map(); // where the organisation already has a hall
    this.doc = null;
    this.built = false;
  }

  // Only admins (halls.enrol over the whole network) have this page.
  available() {
    return session.can('halls.enrol');
  }

  async show() {
    if (!this.built) this.build();
    await this.load();
  }

  build() {
    this.built = true;
    clear(this.root);
    this.status = el('p', {id: 'enrol-status', class: 'ws-status', role: 'status'});
    this.pendingBox = el('div', {id: 'enrol-pending'});
    this.hallsBox = el('div', {id: 'enrol-halls'});
    this.bulkBox = el('div', {id: 'enrol-bulk'});
    this.root.append(this.status,
      el('h2', {text: t('enrol.pending.title')}), this.pendingBox,
      el('h2', {text: t('enrol.halls.title')}), this.hallsBox,
      el('h2', {text: t('enrol.bulk.title')}), this.bulkBox);
    this.buildBulk();
  }

  say(text, state) {
    this.status.textContent = text || '';
    this.status.dataset.state = state || '';
  }

  async load() {
    const [e, org] = await Promise.all([api('/v1/enrolments'), api('/v1/org')]);
    if (e.status !== 200 || !e.body) {
      this.say(refusal(e), 'errors');
      return;
    }
    this.doc = e.body;
    this.readOrg(org.status === 200 ? org.body : null);
    this.drawPending();
    this.drawHalls();
  }

  // Cities as "province · city (id)", for the picker.
  readOrg(doc) {
    const regions = new Map();
    for (const r of (doc && doc.regions) || []) regions.set(r.id, r);
    this.cities = [];
    for (const r of regions.values()) {
      if (r.level !== 'city') continue;
      const p = regions.get(r.parent);
      const label = `${p ? `${p.name} · ` : ''}${r.name} (${r.id})`;
      this.cities.push({id: r.id, label});
    }
    this.cities.sort((a, b) => a.label.localeCompare(b.label));
    this.hallCity = new Map();
    for (const h of (doc && doc.halls) || []) if (h.city) this.hallCity.set(h.id, h.city);
  }

  cityPicker(hall, asked) {
    const want = asked || this.hallCity.get(hall) || '';
    const sel = el('select', {class: 'enrol-region', 'aria-label': t('enrol.pending.regionFor', {hall})},
      el('option', {value: '', text: t('enrol.pending.chooseCity'), selected: !want}));
    for (const c of this.cities) sel.append(el('option', {value: c.id, text: c.label, selected: c.id === want}));
    return sel;
  }

  drawPending() {
    clear(this.pendingBox);
    const pending = (this.doc.pending || []).filter((p) => p.kind !== 'rotate');
    const registered = this.doc.registered || [];
    if (registered.length) {
      // Halls registered ahead, whose installer has not used the code yet.
      this.pendingBox.append(el('p', {class: 'note', id: 'enrol-registered',
        text: t('enrol.registered', {n: registered.length,
          halls: registered.slice(0, 20).map((r) => r.hall).join(t('app.listSep'))})}));
    }
    if (!pending.length) {
      this.pendingBox.append(el('p', {class: 'note', id: 'enrol-none', text: t('enrol.pending.none')}));
      return;
    }
    const table = el('table', {class: 'ws-table', id: 'enrol-pending-table'},
      el('thead', {}, el('tr', {},
        ...['hall', 'asked', 'fingerprint', 'made', 'decide'].map((k) => el('th', {text: t(`enrol.pending.${k}`)})))));
    const body = el('tbody');
    for (const p of pending) body.append(this.pendingRow(p));
    table.append(body);
    this.pendingBox.append(table);
  }

  pendingRow(p) {
    const picker = this.cityPicker(p.hall, p.region);
    const reason = el('input', {class: 'enrol-reason', maxlength: REASON_MAX, hidden: true,
      placeholder: t('enrol.reject.reason'), 'aria-label': t('enrol.reject.reasonFor', {hall: p.hall})});
    const confirmReject = el('button', {type: 'button', class: 'enrol-reject-confirm', hidden: true,
      text: t('enrol.reject.confirm'), onclick: () => this.reject(p.hall, reason.value.trim())});
    const approve = el('button', {type: 'button', class: 'primary enrol-approve', text: t('enrol.approve'),
      onclick: () => this.approve(p.hall, picker.value)});
    const reject = el('button', {type: 'button', class: 'enrol-reject', text: t('enrol.reject'),
      onclick: () => {
        reason.hidden = false;
        confirmReject.hidden = false;
        reject.hidden = true;
        reason.focus();
      }});
    return el('tr', {data: {hall: p.hall}},
      el('td', {text: p.hall}),
      el('td', {text: p.region || t('enrol.pending.noRegion')}),
      el('td', {}, el('code', {class: 'enrol-fp', title: p.public_key || '', text: p.fingerprint || '–'})),
      el('td', {text: p.created ? fmtDateTime(Date.parse(p.created)) : '–'}),
      el('td', {}, el('div', {class: 'ws-actions'}, picker, approve, reject, reason, confirmReject)));
  }

  // Approving and rejecting read alike: what the person must give first,
  // then one POST whose expected status means done, then the lists again.
  async _decide(hall, action, given, needText, body, status, doneText) {
    if (!given) {
      this.say(needText, 'errors');
      return;
    }
    const r = await api(`/v1/enrolments/${encodeURIComponent(hall)}/${action}`, {method: 'POST', body});
    if (r.status !== status) {
      this.say(refusal(r), 'errors');
      return;
    }
    this.say(doneText(r.body), 'ok');
    await this.load();
  }

  approve(hall, region) {
    return this._decide(hall, 'approve', region, t('enrol.approve.needCity', {hall}), {region}, 201,
      (b) => t('enrol.approved', {hall, region: b.region, serial: b.serial,
        until: fmtDate(Date.parse(b.not_after))}));
  }

  reject(hall, reason) {
    return this._decide(hall, 'reject', reason, t('enrol.reject.needReason', {hall}), {reason}, 200,
      () => t('enrol.rejected', {hall}));
  }

  drawHalls() {
    clear(this.hallsBox);
    const rows = (this.doc.enrolled || []).concat(this.doc.revoked || []);
    if (!rows.length) {
      this.hallsBox.append(el('p', {class: 'note', text: t('enrol.halls.none')}));
      return;
    }
    const table = el('table', {class: 'ws-table', id: 'enrol-halls-table'},
      el('thead', {}, el('tr', {},
        ...['hall', 'region', 'serial', 'expires', 'state', 'action'].map((k) => el('th', {text: t(`enrol.halls.${k}`)})))));
    const body = el('tbody');
    for (const h of rows) body.append(this.hallRow(h));
    table.append(body);
    this.hallsBox.append(table);
  }

  hallRow(h) {
    const state = ['active', 'expiring', 'expired', 'revoked'].includes(h.state) ? h.state : 'active';
    const action = el('div', {class: 'ws-actions'});
    if (state !== 'revoked') {
      const confirm = el('span', {class: 'enrol-confirm', hidden: true},
        el('span', {text: t('enrol.revoke.ask', {hall: h.hall})}),
        el('button', {type: 'button', class: 'primary enrol-revoke-confirm', text: t('enrol.revoke.confirm'),
          onclick: () => this.revoke(h.hall)}),
        el('button', {type: 'button', class: 'enrol-revoke-cancel', text: t('enrol.revoke.cancel'),
          onclick: () => {
            confirm.hidden = true;
            revoke.hidden = false;
          }}));
      const revoke = el('button', {type: 'button', class: 'enrol-revoke', text: t('enrol.revoke'),
        onclick: () => {
          confirm.hidden = false;
          revoke.hidden = true;
        }});
      action.append(revoke, confirm);
    }
    return el('tr', {data: {hall: h.hall, state}},
      el('td', {text: h.hall}),
      el('td', {text: h.region || this.hallCity.get(h.hall) || '–'}),
      el('td', {class: 'num', text: h.serial ? String(h.serial) : '–'}),
      // A certificate lives a year: its expiry with the year, the time on hover.
      el('td', {title: h.not_after ? fmtDateTime(Date.parse(h.not_after)) : '',
        text: h.not_after ? fmtDate(Date.parse(h.not_after))
          : state === 'revoked' ? t('enrol.halls.revokedAt', {at: h.revoked_at ? fmtDate(Date.parse(h.revoked_at)) : '–'})
            : t('enrol.halls.noExpiry')}),
      el('td', {}, el('span', {class: `badge cert-${state}`, text: t(`enrol.state.${state}`)})),
      el('td', {}, action));
  }

  async revoke(hall) {
    const r = await api(`/v1/halls/${encodeURIComponent(hall)}/revoke`, {method: 'POST', body: {}});
    if (r.status !== 200) {
      this.say(refusal(r), 'errors');
      return;
    }
    this.say(t('enrol.revoked', {hall}), 'ok');
    await this.load();
  }

  // The CSV file is picked with a button of our own, in the page's language:
  // the browser's own file input would say "Choose File" / "No file chosen"
  // in the browser's language whatever the page's. The input stays (visually
  // hidden, out of the tab order) to open the system's file dialog and to
  // read the file; the button opens it from the mouse or the keyboard, and
  // the chosen file's name is said next to it.
  buildBulk() {
    const file = el('input', {type: 'file', id: 'enrol-csv-file', class: 'sr', accept: '.csv,text/csv',
      tabindex: '-1', 'aria-hidden': 'true'});
    const name = el('span', {id: 'enrol-csv-name', class: 'enrol-file-name', 'aria-live': 'polite',
      text: t('enrol.bulk.noFile')});
    const choose = el('button', {type: 'button', id: 'enrol-csv-choose', 'aria-describedby': 'enrol-csv-name',
      text: t('enrol.bulk.choose'), onclick: () => file.click()});
    const text = el('textarea', {id: 'enrol-csv', rows: 5, 'aria-label': t('enrol.bulk.text'),
      placeholder: 'hall,region,name,address'});
    file.addEventListener('change', async () => {
      const f = file.files && file.files[0];
      name.textContent = f ? f.name : t('enrol.bulk.noFile');
      name.dataset.chosen = f ? 'yes' : '';
      if (f) text.value = await f.text();
    });
    this.codesBox = el('div', {id: 'enrol-codes'});
    this.bulkBox.append(
      el('p', {class: 'note', text: t('enrol.bulk.how')}),
      el('div', {class: 'ws-actions enrol-file', role: 'group', 'aria-label': t('enrol.bulk.file')}, file, choose, name),
      text,
      el('div', {class: 'ws-actions'}, el('button', {type: 'button', class: 'primary', id: 'enrol-register',
        text: t('enrol.bulk.register'), onclick: () => this.register(text.value)})),
      this.codesBox);
  }

  async register(text) {
    clear(this.codesBox);
    const parsed = parseHallsCsv(text || '');
    if (parsed.error) {
      this.say(t(parsed.error, {line: parsed.line}), 'errors');
      return;
    }
    const r = await api('/v1/enrolments/register', {method: 'POST', body: {halls: parsed.rows}});
    if (r.status !== 201 || !r.body || !Array.isArray(r.body.codes)) {
      this.say(refusal(r), 'errors');
      return;
    }
    const codes = r.body.codes;
    this.say(t('enrol.bulk.done', {n: codes.length}), 'ok');
    const csv = ['hall,code', ...codes.map((c) => `${c.hall},${c.code}`)].join('\r\n') + '\r\n';
    const url = URL.createObjectURL(new Blob([csv], {type: 'text/csv'}));
    const table = el('table', {class: 'ws-table', id: 'enrol-codes-table'},
      el('thead', {}, el('tr', {}, el('th', {text: t('enrol.pending.hall')}), el('th', {text: t('enrol.bulk.code')}))),
      el('tbody', {}, ...codes.map((c) => el('tr', {}, el('td', {text: c.hall}), el('td', {}, el('code', {text: c.code}))))));
    this.codesBox.append(
      el('p', {class: 'ws-refusal', text: t('enrol.bulk.once')}),
      el('a', {href: url, download: 'hallbus-codes.csv', id: 'enrol-codes-download', text: t('enrol.bulk.download')}),
      table);
    await this.load();
  }
}
