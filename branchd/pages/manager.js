// The duty manager's tablet (/manager): the hall live (queues with their
// oldest wait, counters and who staffs them, complaints with their SLA
// countdown and acknowledge / escalate / resolve, devices with their
// faults, out of service and repaired); before opening, the morning
// meeting and the pre-opening checklist, then the opening; patrols (the
// hall draws who is sampled, the manager scores each); the work log; the
// cash handover; the after-shift meeting; the day report, printable. Each
// is an event of the hall; the rules (who is drawn, what the checklist
// holds, what opening with a failed device raises) are the hall's.

import {
  $, api, clear, el, fmtClock, fmtDateTime, fmtWait, follow, frame, notify, pair, probe,
  refusal, serviceName, setConn, t, useToken, whoAmI,
} from './hall.js';

const TABS = ['live', 'opening', 'patrols', 'log', 'cash', 'report'];
const CRITERIA = ['smile', 'initiative', 'compliance', 'speed', 'accuracy'];

const st = {
  me: null, services: [], hall: null, tab: 'live',
  checklist: null, marks: {}, // item -> {ok, note}
  day: null, report: null, patrol: null, scores: {}, // staff -> {criterion: n}
};

const main = frame('manager', () => draw());
useToken(pair('manager'));

function draw() {
  clear(main);
  if (!st.me) return;
  main.dataset.tab = st.tab;
  const nav = el('nav', {class: 'tabs', id: 'tabs'}, TABS.map((tab) => el('button', {
    type: 'button', class: 'tab' + (tab === st.tab ? ' on' : ''), data: {tab},
    onclick: () => { st.tab = tab; load(tab).then(draw); },
  }, t('mgr.tab.' + tab))));
  const body = el('div', {class: 'tab-body', id: 'tab-' + st.tab});
  ({live: drawLive, opening: drawOpening, patrols: drawPatrols, log: drawLog, cash: drawCash,
    report: drawReport}[st.tab])(body);
  main.append(nav, body);
}

function table(id, heads, rows) {
  return el('table', {id, class: 'grid'}, el('tr', null, heads.map((h) => el('th', null, h))), rows);
}

// -------------------------------------------------------------- live

function drawLive(body) {
  const h = st.hall || {};
  body.append(el('div', {class: 'live-grid'},
    el('section', null, el('h2', null, t('mgr.queues')), table('mgr-queues',
      [t('counter.service'), t('counter.waiting'), t('counter.oldest'), t('display.est')],
      (h.services || []).map((s) => el('tr', {data: {service: s.service}},
        el('td', null, serviceName(st.services, s.service)), el('td', {class: 'num'}, String(s.waiting || 0)),
        el('td', null, s.waiting ? fmtWait(s.oldest_wait_s) : '–'), el('td', null, fmtWait(s.estimated_wait_s)))))),
    el('section', null, el('h2', null, t('mgr.counters')), (h.counters || []).length === 0
      ? el('p', {class: 'muted'}, t('mgr.no_counters')) : table('mgr-counters',
      [t('mgr.counter'), t('mgr.state'), t('mgr.staff'), t('mgr.ticket'), t('mgr.served')],
      (h.counters || []).map((c) => el('tr', {data: {counter: c.counter, state: c.state}},
        el('td', null, c.counter), el('td', null, t('cstate.' + c.state)), el('td', null, c.staff || '–'),
        el('td', null, c.ticket || '–'), el('td', {class: 'num'}, String(c.served || 0)))))),
    complaintsBox(h), devicesBox(h)));
}

function countdown(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  return s >= 0 ? t('mgr.due_in', {w: fmtWait(s)}) : t('mgr.overdue_by', {w: fmtWait(-s)});
}

function complaintsBox(h) {
  const list = h.complaints && h.complaints.list || [];
  const rows = list.map((c) => {
    const due = c.state === 'open' ? c.ack_due : c.resolve_due;
    return el('tr', {data: {complaint: c.complaint, state: c.state}},
      el('td', null, c.complaint), el('td', null, t('severity.' + c.severity)),
      el('td', null, t('category.' + c.category)), el('td', {class: c.overdue ? 'late' : ''},
        t('cmpstate.' + c.state), ' · ', el('span', {class: 'countdown', data: {due: due || ''}}, countdown(due))),
      el('td', {class: 'row-actions'},
        c.state === 'open' ? el('button', {type: 'button', class: 'secondary', data: {act: 'ack'},
          onclick: () => complaintAct(c.complaint, 'ack', {by: st.me.device || 'manager'})}, t('mgr.ack')) : null,
        el('button', {type: 'button', class: 'secondary', data: {act: 'escalate'},
          onclick: () => complaintAct(c.complaint, 'escalate', {})}, t('mgr.escalate')),
        el('button', {type: 'button', class: 'secondary', data: {act: 'resolve-yes'},
          onclick: () => complaintAct(c.complaint, 'resolve', {resolution: 'resolved at the hall', customer_satisfied: true})},
          t('mgr.resolve_satisfied')),
        el('button', {type: 'button', class: 'secondary', data: {act: 'resolve-no'},
          onclick: () => complaintAct(c.complaint, 'resolve', {resolution: 'resolved at the hall', customer_satisfied: false})},
          t('mgr.resolve_unsatisfied'))));
  });
  return el('section', {class: 'wide'}, el('h2', null, t('mgr.complaints')),
    rows.length ? table('mgr-complaints', [t('mgr.complaint'), t('counter.severity'), t('counter.category'),
                                           t('mgr.sla'), ''], rows)
      : el('p', {class: 'muted'}, t('mgr.no_complaints')));
}

function devicesBox(h) {
  const rows = (h.devices || []).map((d) => el('tr', {data: {device: d.device, state: d.state}},
    el('td', null, d.device), el('td', null, t('dkind.' + d.kind)),
    el('td', {class: d.state === 'ok' ? '' : 'late'}, t('device.' + d.state)),
    el('td', {class: 'row-actions'},
      d.state === 'ok'
        ? el('button', {type: 'button', class: 'secondary', data: {act: 'out'},
                        onclick: () => deviceState(d, 'fault')}, t('mgr.out_of_service'))
        : el('button', {type: 'button', class: 'secondary', data: {act: 'repaired'},
                        onclick: () => deviceState(d, 'ok')}, t('mgr.repaired')))));
  return el('section', null, el('h2', null, t('mgr.devices')),
    rows.length ? table('mgr-devices', [t('mgr.device'), t('mgr.kind'), t('mgr.state'), ''], rows)
      : el('p', {class: 'muted'}, t('mgr.no_devices')));
}

async function complaintAct(id, action, body) {
  const r = await api('POST', `/v1/complaints/${encodeURIComponent(id)}/${action}`, body);
  if (r.status !== 200) return notify(refusal(r.status, r.body));
  await loadHall();
  draw();
}

async function deviceState(d, state) {
  const r = await api('POST', `/v1/devices/${encodeURIComponent(d.device)}/status`, {kind: d.kind, state});
  if (r.status !== 200) return notify(refusal(r.status, r.body));
  await loadHall();
  draw();
}

// ----------------------------------------------------------- opening

function meetingForm(kind) {
  const dur = el('input', {class: 'field', id: `meeting-${kind}-minutes`, inputmode: 'numeric', value: '15'});
  const who = el('input', {class: 'field', id: `meeting-${kind}-attendees`, placeholder: 'E07, E08'});
  const topics = el('textarea', {class: 'field', id: `meeting-${kind}-topics`, rows: '3'});
  const held = (st.day && st.day.meetings || []).filter((m) => m.kind === kind);
  return el('section', {class: 'panel inline', id: `meeting-${kind}`},
    el('h2', null, t('mgr.meeting.' + kind)),
    held.length ? el('p', {class: 'ok-line'}, t('mgr.meeting_held', {n: held.length})) : null,
    el('label', null, t('mgr.minutes'), dur), el('label', null, t('mgr.attendees'), who),
    el('label', null, t('mgr.topics'), topics),
    el('button', {type: 'button', class: 'primary', id: `meeting-${kind}-save`, onclick: async () => {
      const body = {kind, duration_s: Math.round(Number(dur.value) * 60),
        attendees: who.value.split(/[\s,，、]+/).filter(Boolean),
        topics: topics.value.split('\n').map((x) => x.trim()).filter(Boolean)};
      const r = await api('POST', '/v1/manager/meetings', body);
      if (r.status !== 201) return notify(refusal(r.status, r.body));
      notify(t('mgr.saved'), 'info');
      await load('opening');
      draw();
    }}, t('mgr.save')));
}

function itemLabel(it) {
  if (it.device) return t('mgr.item.device', {device: it.device});
  return t('mgr.item.' + it.item);
}

function drawOpening(body) {
  const items = st.checklist && st.checklist.items || [];
  const rows = items.map((it) => {
    const m = st.marks[it.item] || {};
    const note = el('input', {class: 'field', data: {note: it.item}, value: m.note || '',
      oninput: (e) => { st.marks[it.item] = {...(st.marks[it.item] || {}), note: e.target.value}; }});
    const mark = (ok) => (e) => {
      st.marks[it.item] = {...(st.marks[it.item] || {}), ok};
      for (const b of e.target.parentNode.children) b.classList.toggle('on', b.dataset.ok === String(ok));
    };
    return el('tr', {data: {item: it.item}}, el('td', null, itemLabel(it)),
      el('td', {class: 'row-actions'},
        el('button', {type: 'button', class: 'toggle' + (m.ok === true ? ' on' : ''), data: {ok: 'true'}, onclick: mark(true)}, t('mgr.check_ok')),
        el('button', {type: 'button', class: 'toggle' + (m.ok === false ? ' on' : ''), data: {ok: 'false'}, onclick: mark(false)}, t('mgr.check_failed'))),
      el('td', null, note));
  });
  const done = st.checklist && st.checklist.done;
  const opened = st.day && st.day.opened;
  body.append(el('div', {class: 'opening-grid'}, meetingForm('morning'),
    el('section', {class: 'panel inline', id: 'checklist'},
      el('h2', null, t('mgr.checklist')),
      done ? el('p', {class: 'ok-line'}, t('mgr.checklist_done', {at: fmtClock(done.at)})) : null,
      table('checklist-items', [t('mgr.item'), '', t('mgr.note')], rows),
      el('div', {class: 'actions small'},
        el('button', {type: 'button', class: 'primary', id: 'checklist-save', onclick: saveChecklist}, t('mgr.save')),
        el('button', {type: 'button', class: opened ? 'secondary' : 'primary', id: 'hall-open',
                      disabled: !!opened, onclick: openHall},
          opened ? t('mgr.opened_at', {at: fmtClock(opened.at || opened.opened)}) : t('mgr.open_hall'))),
      st.openAnswer ? el('p', {id: 'open-result', class: st.openAnswer.alert ? 'late' : 'ok-line'},
        st.openAnswer.alert ? t('mgr.open_alert', {devices: [...(st.openAnswer.failed || []), ...(st.openAnswer.unchecked || [])].join(', ')})
          : t('mgr.open_ok')) : null)));
}

async function saveChecklist() {
  const items = [];
  for (const it of st.checklist && st.checklist.items || []) {
    const m = st.marks[it.item];
    if (!m || m.ok === undefined) return notify(t('mgr.mark_every', {item: itemLabel(it)}));
    const row = {item: it.item, ok: m.ok};
    if (m.note) row.note = m.note;
    items.push(row);
  }
  const r = await api('POST', '/v1/manager/checklist', {items});
  if (r.status !== 201) return notify(refusal(r.status, r.body));
  notify(t('mgr.saved'), 'info');
  await load('opening');
  draw();
}

async function openHall() {
  const r = await api('POST', '/v1/manager/open', {});
  if (r.status !== 201) return notify(refusal(r.status, r.body));
  st.openAnswer = r.body;
  probe.openAnswer = r.body;
  await load('opening');
  draw();
}

// ----------------------------------------------------------- patrols

function drawPatrols(body) {
  const p = st.patrol;
  const box = el('section', {class: 'panel inline', id: 'patrol'}, el('h2', null, t('mgr.patrol')),
    el('p', {class: 'muted'}, t('mgr.patrol_rule')),
    el('button', {type: 'button', class: 'primary', id: 'patrol-draw', onclick: drawPatrol}, t('mgr.patrol_draw')));
  if (p) {
    box.append(el('p', {id: 'patrol-drawn', data: {patrol: p.patrol, drawn: String(p.drawn.length), onDuty: String(p.on_duty.length)}},
      t('mgr.patrol_result', {n: p.drawn.length, of: p.on_duty.length})));
    for (const staff of p.drawn) box.append(scoreCard(p.patrol, staff));
  }
  body.append(box);
}

function scoreCard(patrol, staff) {
  const sc = st.scores[staff] || (st.scores[staff] = {});
  const note = el('input', {class: 'field', placeholder: t('mgr.note')});
  const card = el('div', {class: 'score-card', data: {staff}}, el('h3', null, staff));
  for (const c of CRITERIA) {
    card.append(el('div', {class: 'criterion', data: {criterion: c}}, el('span', null, t('mgr.crit.' + c)),
      [1, 2, 3, 4, 5].map((n) => el('button', {
        type: 'button', class: 'toggle small' + (sc[c] === n ? ' on' : ''), data: {n: String(n)},
        onclick: (e) => {
          sc[c] = n;
          for (const b of e.target.parentNode.querySelectorAll('button')) b.classList.toggle('on', b.dataset.n === String(n));
        },
      }, String(n)))));
  }
  card.append(note, el('button', {type: 'button', class: 'primary', data: {act: 'score'}, onclick: async () => {
    if (CRITERIA.some((c) => !sc[c])) return notify(t('mgr.score_every'));
    const r = await api('POST', `/v1/manager/patrols/${encodeURIComponent(patrol)}/scores`,
                        {staff, ...sc, note: note.value || undefined});
    if (r.status !== 201) return notify(refusal(r.status, r.body));
    card.dataset.scored = 'yes';
    notify(t('mgr.saved'), 'info');
  }}, t('mgr.save')));
  return card;
}

async function drawPatrol() {
  const r = await api('POST', '/v1/manager/patrols', {});
  if (r.status !== 201) return notify(refusal(r.status, r.body));
  st.patrol = r.body;
  st.scores = {};
  probe.patrol = r.body;
  draw();
}

// ------------------------------------------------------- log and cash

function drawLog(body) {
  const text = el('textarea', {class: 'field', id: 'log-text', rows: '3'});
  const entries = st.day && st.day.log || [];
  body.append(el('section', {class: 'panel inline', id: 'worklog'}, el('h2', null, t('mgr.tab.log')), text,
    el('button', {type: 'button', class: 'primary', id: 'log-add', onclick: async () => {
      if (!text.value.trim()) return;
      const r = await api('POST', '/v1/manager/log', {text: text.value.trim()});
      if (r.status !== 201) return notify(refusal(r.status, r.body));
      await load('log');
      draw();
    }}, t('mgr.log_add')),
    el('ul', {class: 'log', id: 'log-entries'}, entries.slice().reverse().map((e) =>
      el('li', null, el('time', null, fmtClock(e.at)), ' ', e.text || '')))),
  meetingForm('after_shift'));
}

function drawCash(body) {
  const amount = el('input', {class: 'field', id: 'cash-amount', inputmode: 'decimal'});
  const by = el('input', {class: 'field', id: 'cash-by'});
  const to = el('input', {class: 'field', id: 'cash-to'});
  const note = el('input', {class: 'field', id: 'cash-note'});
  let checked = false;
  const chk = el('button', {type: 'button', class: 'toggle', id: 'cash-checked', onclick: (e) => {
    checked = !checked;
    e.target.classList.toggle('on', checked);
  }}, t('mgr.cash_checked'));
  const done = st.day && st.day.cash || [];
  body.append(el('section', {class: 'panel inline', id: 'cash'}, el('h2', null, t('mgr.tab.cash')),
    el('label', null, t('counter.amount'), amount), el('label', null, t('mgr.cash_by'), by),
    el('label', null, t('mgr.cash_to'), to), el('label', null, t('mgr.note'), note), chk,
    el('button', {type: 'button', class: 'primary', id: 'cash-save', onclick: async () => {
      const v = Number(amount.value);
      if (!Number.isFinite(v) || v < 0 || !amount.value.trim()) return notify(t('counter.bad_amount'));
      const r = await api('POST', '/v1/manager/cash', {amount: Math.round(v * 100), currency: 'CNY',
        by: by.value.trim(), to: to.value.trim(), checked, note: note.value.trim() || undefined});
      if (r.status !== 201) return notify(refusal(r.status, r.body));
      notify(t('mgr.saved'), 'info');
      await load('cash');
      draw();
    }}, t('mgr.save')),
    el('ul', {class: 'log'}, done.map((c) => el('li', null, fmtClock(c.at), ' ',
      t('mgr.cash_line', {amount: ((c.amount || 0) / 100).toFixed(2), by: c.by, to: c.to,
                          checked: c.checked ? t('mgr.yes') : t('mgr.no')}))))));
}

// ------------------------------------------------------------ report

function drawReport(body) {
  const r = st.report;
  if (!r) return body.append(el('p', {class: 'muted'}, t('mgr.no_report')));
  const sat = r.satisfaction || {};
  const cmp = r.complaints || {};
  body.append(el('section', {class: 'report', id: 'day-report'},
    el('h2', null, t('mgr.report_title', {hall: st.me.hall_name || r.hall, date: r.date})),
    el('button', {type: 'button', class: 'primary no-print', id: 'report-print', onclick: () => window.print()}, t('mgr.print')),
    el('h3', null, t('mgr.r.services')),
    table('report-services', [t('counter.service'), t('mgr.r.issued'), t('mgr.r.served'), t('mgr.r.no_shows'),
                              t('mgr.r.wait_avg'), t('mgr.r.wait_max'), t('mgr.r.service_avg')],
      (r.services || []).map((s) => el('tr', {data: {service: s.service}},
        el('td', null, serviceName(st.services, s.service)), el('td', {class: 'num'}, String(s.issued || 0)),
        el('td', {class: 'num'}, String(s.served || 0)), el('td', {class: 'num'}, String(s.no_shows || 0)),
        el('td', null, fmtWait(s.wait_avg_s)), el('td', null, fmtWait(s.wait_max_s)), el('td', null, fmtWait(s.service_avg_s))))),
    el('h3', null, t('mgr.r.business')),
    table('report-business', [t('counter.business_type'), t('mgr.r.count'), t('counter.amount'),
                              t('outcome.done'), t('outcome.referred'), t('outcome.rejected_documents')],
      (r.business_types || []).map((b) => el('tr', null,
        el('td', null, t('btype.' + b.business_type)), el('td', {class: 'num'}, String(b.count || 0)),
        el('td', {class: 'num'}, ((b.amount || 0) / 100).toFixed(2)),
        el('td', {class: 'num'}, String(b.outcomes && b.outcomes.done || 0)),
        el('td', {class: 'num'}, String(b.outcomes && b.outcomes.referred || 0)),
        el('td', {class: 'num'}, String(b.outcomes && b.outcomes.rejected_documents || 0))))),
    el('h3', null, t('mgr.r.counters')),
    table('report-counters', [t('mgr.counter'), t('mgr.staff'), t('mgr.r.utilisation'), t('mgr.served')],
      (r.counters || []).map((c) => el('tr', null, el('td', null, c.counter), el('td', null, (c.staff || []).join(', ')),
        el('td', {class: 'num'}, Math.round((c.utilisation || 0) * 100) + '%'), el('td', {class: 'num'}, String(c.served || 0))))),
    el('h3', null, t('mgr.r.quality')),
    el('dl', {class: 'facts'},
      el('dt', null, t('mgr.r.complaints')), el('dd', null, t('mgr.r.complaints_line', {opened: cmp.opened || 0, resolved: cmp.resolved || 0, satisfied: cmp.satisfied || 0})),
      el('dt', null, t('mgr.r.satisfaction')), el('dd', null, sat.count ? t('mgr.r.sat_line', {avg: Number(sat.avg).toFixed(1), n: sat.count}) : '–'),
      el('dt', null, t('mgr.r.checklist_failures')), el('dd', null, String(r.checklist_failures || 0)),
      el('dt', null, t('mgr.r.opened')), el('dd', null, r.opened ? fmtClock(r.opened) + (r.late_s ? ' ' + t('mgr.r.late', {w: fmtWait(r.late_s)}) : '') : '–')),
    el('h3', null, t('mgr.r.patrols')),
    table('report-patrols', [t('mgr.staff'), ...CRITERIA.map((c) => t('mgr.crit.' + c)), t('mgr.r.avg')],
      (r.patrols || []).map((p) => el('tr', null, el('td', null, p.staff),
        CRITERIA.map((c) => el('td', {class: 'num'}, String(p[c] || '–'))),
        el('td', {class: 'num'}, p.avg !== undefined ? Number(p.avg).toFixed(1) : '–'))))));
}

// --------------------------------------------------------------- data

async function loadHall() {
  const r = await api('GET', '/v1/hall');
  if (r.status === 200) st.hall = r.body;
}

// What a tab shows, read when it opens; a refusal is shown in words (a
// branchd that does not serve a route yet answers 404).
async function load(tab) {
  const want = async (path) => {
    const r = await api('GET', path);
    if (r.status !== 200) notify(refusal(r.status, r.body));
    return r.status === 200 ? r.body : null;
  };
  if (tab === 'live') return loadHall();
  if (tab === 'opening') {
    const [c, d] = await Promise.all([want('/v1/manager/checklist'), want('/v1/manager/day')]);
    st.checklist = c || st.checklist;
    st.day = d || st.day;
    return;
  }
  if (tab === 'report') {
    st.report = await want('/v1/manager/report');
    return;
  }
  st.day = (await want('/v1/manager/day')) || st.day;
}

async function start() {
  st.me = await whoAmI(['manager', 'local']);
  if (!st.me) return;
  const sv = await api('GET', '/v1/services');
  st.services = sv.body && sv.body.services || [];
  await loadHall();
  draw();
  probe.ready = true;
  // The SLA countdowns move every second without an event (in place: a
  // redraw would take the buttons from under a finger).
  setInterval(() => {
    for (const c of document.querySelectorAll('.countdown[data-due]')) c.textContent = countdown(c.dataset.due);
  }, 1000);
  follow({
    state: setConn,
    hall: (h) => {
      st.hall = h;
      if (st.tab === 'live') draw();
    },
  });
}

start();
