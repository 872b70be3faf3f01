// The counter terminal (/counter/{n}): staff sign in with their id and
// PIN, open the counter with the services they serve, pause for a meal,
// resume, close; call the next ticket and see the rule that chose it;
// recall, mark a no-show, start, complete with business type, outcome and
// amount; transfer to another service keeping the number; open a
// complaint on the customer's behalf. The counter's state is the hall's
// (the live stream); the page only asks and shows the answer.

import {
  $, api, clear, el, fmtClock, fmtWait, follow, frame, notify, pair, probe, refusal,
  serviceName, serviceTable, setConn, t, useToken, whoAmI,
} from './hall.js';

const COUNTER = decodeURIComponent(location.pathname.split('/')[2] || '');
const BUSINESS_TYPES = ['account_opening', 'deposit', 'withdrawal', 'bill_payment', 'transfer',
                        'plan_change', 'card_loss', 'loan_enquiry', 'other'];
const OUTCOMES = ['done', 'referred', 'rejected_documents'];
const CATEGORIES = ['waiting_time', 'staff_conduct', 'service_quality', 'fees', 'facilities', 'other'];
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

const st = {
  me: null,
  services: [],
  hall: null,
  lastCall: null, // the call answer (or ticket_called event) of this counter's ticket
  chosen: new Set(), // services ticked to open with
  elderly: false,
  outcome: 'done',
  panel: null, // null, 'complete', 'transfer', 'complaint'
};

const main = frame('counter', () => draw());
useToken(pair('counter.' + COUNTER));

function counter() {
  return (st.hall && st.hall.counters || []).find((c) => c.counter === COUNTER) ||
    {counter: COUNTER, state: 'closed', services: []};
}

// ------------------------------------------------------------- drawing

function draw() {
  clear(main);
  if (!st.me) return;
  st.key = counterKey();
  const signedIn = st.me.kind !== 'counter' || !!st.me.staff;
  main.dataset.signedIn = signedIn ? 'yes' : 'no';
  if (!signedIn) return drawSignin();
  const c = counter();
  main.dataset.state = c.state;
  const work = el('section', {class: 'work'});
  work.append(el('div', {class: 'counter-head'},
    el('h2', null, t('counter.number', {n: COUNTER})),
    el('span', {class: 'state', id: 'counter-state', data: {state: c.state}}, t('cstate.' + c.state)),
    el('span', {class: 'staff', id: 'counter-staff'}, t('counter.staff', {staff: c.staff || st.me.staff || '–'}))));
  ({closed: drawOpen, idle: drawIdle, calling: drawCalling, serving: drawServing,
    paused: drawPaused}[c.state] || drawOpen)(work, c);
  // The complaint form in the wide column: a customer's words need room.
  if (st.panel === 'complaint') work.append(complaintForm());
  main.append(el('div', {class: 'counter-page'}, work, queueBox()));
}

// The counter's key: what, when it changes, redraws the work area (a hall
// message that changes only the queue must not wipe a form being filled).
function counterKey() {
  const c = counter();
  return JSON.stringify([c.state, c.ticket, c.staff, c.services, st.me && st.me.staff]);
}

function queueTable() {
  return serviceTable('queue-table', [t('counter.service'), t('counter.waiting'), t('counter.oldest')],
    st.services, st.hall, (s) => [el('td', null, String(s.waiting || 0)),
      el('td', null, s.waiting ? fmtWait(s.oldest_wait_s) : '–')]);
}

function queueBox() {
  const box = el('aside', {class: 'queue', id: 'queue'}, el('h2', null, t('counter.queue')));
  box.append(queueTable(), el('div', {class: 'actions small'},
    el('button', {type: 'button', class: 'secondary', id: 'complaint-open',
                  onclick: () => { st.panel = 'complaint'; draw(); }}, t('counter.complaint')),
    st.me.kind === 'counter' ? el('button', {type: 'button', class: 'secondary', id: 'signout',
                                             onclick: signout}, t('counter.signout')) : null));
  return box;
}

function drawSignin() {
  const id = el('input', {id: 'signin-staff', class: 'field', autocomplete: 'off', inputmode: 'text',
                          placeholder: t('counter.staff_id')});
  const pin = el('input', {id: 'signin-pin', class: 'field', type: 'password', inputmode: 'numeric',
                           autocomplete: 'off', placeholder: t('counter.pin')});
  main.append(el('section', {class: 'panel signin', id: 'signin'},
    el('h2', null, t('counter.signin_title', {n: COUNTER})),
    el('label', null, t('counter.staff_id'), id), el('label', null, t('counter.pin'), pin),
    el('button', {type: 'button', class: 'primary', id: 'signin-go',
                  onclick: () => signin(id.value.trim(), pin.value)}, t('counter.signin'))));
}

function drawOpen(work) {
  const list = el('div', {class: 'toggles', id: 'open-services'});
  for (const s of st.services) {
    const on = st.chosen.has(s.service);
    list.append(el('button', {
      type: 'button', class: 'toggle' + (on ? ' on' : ''), data: {service: s.service},
      'aria-pressed': on ? 'true' : 'false',
      onclick: () => { on ? st.chosen.delete(s.service) : st.chosen.add(s.service); draw(); },
    }, serviceName(st.services, s.service)));
  }
  work.append(el('p', {class: 'lead'}, t('counter.choose_services')), list,
    el('button', {type: 'button', class: 'toggle' + (st.elderly ? ' on' : ''), id: 'open-elderly',
                  'aria-pressed': st.elderly ? 'true' : 'false',
                  onclick: () => { st.elderly = !st.elderly; draw(); }}, t('counter.elderly')),
    el('div', {class: 'actions'},
      el('button', {type: 'button', class: 'primary', id: 'open', onclick: open}, t('counter.open'))));
}

function drawIdle(work, c) {
  work.append(el('p', {class: 'muted'}, t('counter.serves',
    {services: (c.services || []).map((s) => serviceName(st.services, s)).join('、')})),
  el('div', {class: 'actions'},
    el('button', {type: 'button', class: 'primary huge', id: 'call', onclick: call}, t('counter.call')),
    el('button', {type: 'button', class: 'secondary', id: 'pause', onclick: pause}, t('counter.pause')),
    el('button', {type: 'button', class: 'secondary', id: 'close', onclick: () => act('close')}, t('counter.close'))));
  if (st.panel === 'override')
    work.append(el('div', {class: 'actions'}, el('button', {
      type: 'button', class: 'secondary', id: 'pause-override', onclick: pauseAnyway,
    }, t('counter.pause_override'))));
  if (st.lastCall) work.append(callBox(st.lastCall, true));
}

function callBox(call, past) {
  return el('div', {class: 'call' + (past ? ' past' : ''), id: past ? 'last-call' : 'current-call',
                    data: {ticket: call.ticket, rule: call.rule || ''}},
    el('span', {class: 'ticket', id: past ? null : 'call-ticket'}, call.ticket),
    el('span', {class: 'rule', id: past ? null : 'call-rule'}, t('counter.rule', {rule: t('rule.' + (call.rule || 'fifo'))})),
    el('span', {class: 'rule-help'}, t('rule_help.' + (call.rule || 'fifo'))),
    call.appointment ? el('span', {class: 'appt'}, t('counter.appointment', {code: call.appointment})) : null,
    call.wait_s !== undefined ? el('span', {class: 'waited'}, t('counter.waited', {w: fmtWait(call.wait_s)})) : null);
}

function currentCall(c) {
  if (st.lastCall && st.lastCall.ticket === c.ticket) return st.lastCall;
  return {ticket: c.ticket};
}

function drawCalling(work, c) {
  work.append(callBox(currentCall(c), false), el('div', {class: 'actions'},
    el('button', {type: 'button', class: 'primary huge', id: 'start', onclick: () => act('start')}, t('counter.start')),
    el('button', {type: 'button', class: 'secondary', id: 'recall', onclick: () => ticketAct(c.ticket, 'recall')}, t('counter.recall')),
    el('button', {type: 'button', class: 'secondary', id: 'no-show', onclick: () => ticketAct(c.ticket, 'no-show')}, t('counter.no_show')),
    el('button', {type: 'button', class: 'secondary', id: 'transfer-open',
                  onclick: () => { st.panel = 'transfer'; draw(); }}, t('counter.transfer'))));
  if (st.panel === 'transfer') work.append(transferForm(c));
}

function drawServing(work, c) {
  work.append(callBox(currentCall(c), false));
  const amount = el('input', {id: 'complete-amount', class: 'field', inputmode: 'decimal', placeholder: '0.00'});
  const btype = el('select', {id: 'complete-type', class: 'field'},
    BUSINESS_TYPES.map((b) => el('option', {value: b}, t('btype.' + b))));
  const outcomes = el('div', {class: 'toggles', id: 'complete-outcome'}, OUTCOMES.map((o) => el('button', {
    type: 'button', class: 'toggle' + (st.outcome === o ? ' on' : ''), data: {outcome: o},
    onclick: (e) => {
      // In place: a redraw would empty the amount being typed.
      st.outcome = o;
      for (const b of e.target.parentNode.children) b.classList.toggle('on', b.dataset.outcome === o);
    },
  }, t('outcome.' + o))));
  work.append(el('section', {class: 'complete', id: 'complete-form'},
    el('label', null, t('counter.business_type'), btype),
    el('div', {class: 'label'}, t('counter.outcome')), outcomes,
    el('label', null, t('counter.amount'), amount),
    el('div', {class: 'actions'},
      el('button', {type: 'button', class: 'primary huge', id: 'complete',
                    onclick: () => complete(btype.value, amount.value)}, t('counter.complete')),
      el('button', {type: 'button', class: 'secondary', id: 'transfer-open',
                    onclick: () => { st.panel = 'transfer'; draw(); }}, t('counter.transfer')))));
  if (st.panel === 'transfer') work.append(transferForm(c));
}

function drawPaused(work) {
  work.append(el('div', {class: 'actions'},
    el('button', {type: 'button', class: 'primary huge', id: 'resume', onclick: () => act('resume')}, t('counter.resume')),
    el('button', {type: 'button', class: 'secondary', id: 'close', onclick: () => act('close')}, t('counter.close'))));
}

function transferForm(c) {
  return el('section', {class: 'panel inline', id: 'transfer'},
    el('h3', null, t('counter.transfer_to', {ticket: c.ticket})),
    el('div', {class: 'toggles'}, st.services.map((s) => el('button', {
      type: 'button', class: 'toggle', data: {service: s.service},
      onclick: () => transfer(c.ticket, s.service),
    }, serviceName(st.services, s.service)))),
    el('button', {type: 'button', class: 'back', onclick: () => { st.panel = null; draw(); }}, t('kiosk.back')));
}

function complaintForm() {
  const cat = el('select', {id: 'complaint-category', class: 'field'},
    CATEGORIES.map((x) => el('option', {value: x}, t('category.' + x))));
  const sev = el('select', {id: 'complaint-severity', class: 'field'},
    SEVERITIES.map((x) => el('option', {value: x}, t('severity.' + x))));
  const text = el('textarea', {id: 'complaint-text', class: 'field', rows: '3', maxlength: '1000'});
  const c = counter();
  return el('section', {class: 'panel inline', id: 'complaint'},
    el('h3', null, t('counter.complaint')),
    el('label', null, t('counter.category'), cat), el('label', null, t('counter.severity'), sev),
    el('label', null, t('counter.what_said'), text),
    el('div', {class: 'actions small'},
      el('button', {type: 'button', class: 'primary', id: 'complaint-send', onclick: () => complain(
        {channel: 'counter', category: cat.value, severity: sev.value,
         text: text.value.trim() || undefined, ticket: c.ticket || undefined})}, t('counter.send')),
      el('button', {type: 'button', class: 'back', onclick: () => { st.panel = null; draw(); }}, t('kiosk.back'))));
}

// ------------------------------------------------------------- actions

async function refreshHall() {
  const r = await api('GET', '/v1/hall');
  if (r.status === 200) st.hall = r.body;
  draw();
}

function done(r, okStatus) {
  if (r.status !== (okStatus || 200)) {
    notify(refusal(r.status, r.body));
    return false;
  }
  return true;
}

async function signin(staff, pin) {
  const r = await api('POST', `/v1/counters/${encodeURIComponent(COUNTER)}/signin`, {staff, pin});
  if (!done(r)) return;
  st.me = await whoAmI(['counter', 'manager', 'local']);
  await refreshHall();
}

async function signout() {
  const r = await api('POST', `/v1/counters/${encodeURIComponent(COUNTER)}/signout`);
  if (!done(r)) return;
  st.me = await whoAmI(['counter', 'manager', 'local']);
  draw();
}

async function open() {
  const body = {services: [...st.chosen]};
  if (st.elderly) body.elderly = true;
  if (st.me.kind !== 'counter') body.staff = st.me.staff || st.me.device || 'manager';
  await act('open', body);
}

async function act(action, body) {
  const r = await api('POST', `/v1/counters/${encodeURIComponent(COUNTER)}/${action}`, body);
  if (!done(r)) return;
  st.panel = null;
  await refreshHall();
}

// A meal break; the hall refuses it for the last open counter of a service
// someone waits for, and only the duty manager may pause it anyway.
async function pause() {
  const path = `/v1/counters/${encodeURIComponent(COUNTER)}/pause`;
  const r = await api('POST', path, {reason: 'meal'});
  if (r.status === 409 && r.body && r.body.error === 'last_counter' &&
      (st.me.kind === 'manager' || st.me.kind === 'local')) {
    st.panel = 'override';
    notify(refusal(r.status, r.body), 'error', 0);
    return draw();
  }
  if (!done(r)) return;
  st.panel = null;
  await refreshHall();
}

async function pauseAnyway() {
  notify('');
  await act('pause', {reason: 'meal', override: true});
}

async function call() {
  const t0 = performance.now();
  probe.callSentAt = Date.now();
  const r = await api('POST', `/v1/counters/${encodeURIComponent(COUNTER)}/call`);
  if (r.status === 404 && r.body && r.body.error === 'nobody_waiting') {
    notify(t('err.nobody_waiting'), 'info');
    return;
  }
  if (!done(r)) return;
  st.lastCall = r.body;
  probe.lastCall = r.body;
  probe.callAnsweredAt = Date.now();
  probe.callMs = performance.now() - t0;
  await refreshHall();
}

async function ticketAct(ticket, action, body) {
  const r = await api('POST', `/v1/tickets/${encodeURIComponent(ticket)}/${action}`, body);
  if (!done(r)) return;
  if (r.body && r.body.state === 'no_show') notify(t('counter.became_no_show', {ticket}), 'info');
  st.panel = null;
  await refreshHall();
}

async function transfer(ticket, service) {
  await ticketAct(ticket, 'transfer', {service});
}

async function complete(btype, amountText) {
  const body = {business_type: btype, outcome: st.outcome};
  const a = amountText.trim();
  if (a) {
    const v = Number(a);
    if (!Number.isFinite(v) || v < 0) return notify(t('counter.bad_amount'));
    body.amount = Math.round(v * 100);
    body.currency = 'CNY';
  }
  await act('complete', body);
  st.outcome = 'done';
}

async function complain(body) {
  const r = await api('POST', '/v1/complaints', body);
  if (!done(r, 201)) return;
  notify(t('counter.complaint_opened', {id: r.body.complaint}), 'info');
  st.panel = null;
  draw();
}

// ---------------------------------------------------------------- start

async function start() {
  st.me = await whoAmI(['counter', 'manager', 'local']);
  if (!st.me) return;
  if (st.me.kind === 'counter' && st.me.counter !== COUNTER) {
    notify(t('err.other_counter', {mine: st.me.counter, here: COUNTER}), 'error', 0);
    setConn('off');
    document.body.dataset.refused = 'scope';
    return;
  }
  const sv = await api('GET', '/v1/services');
  st.services = sv.body && sv.body.services || [];
  const c = counter();
  for (const s of c.services || []) st.chosen.add(s);
  await refreshHall();
  for (const s of counter().services || []) st.chosen.add(s);
  probe.ready = true;
  follow({
    state: setConn,
    hall: (h) => {
      st.hall = h;
      const signedIn = st.me.kind !== 'counter' || !!st.me.staff;
      if (signedIn && counterKey() !== st.key) draw();
      else if ($('queue-table')) $('queue-table').replaceWith(queueTable());
    },
    event: (type, ev) => {
      if (type === 'ticket_called' && ev.counter === COUNTER &&
          (!st.lastCall || st.lastCall.ticket !== ev.ticket))
        st.lastCall = ev;
    },
  });
}

start();
