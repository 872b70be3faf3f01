// The ticket kiosk (/kiosk): the services the hall offers today as large
// buttons with their current wait; a touch, then one confirm (normal, or
// priority for elderly and disabled customers), issues the ticket, shown
// and printed (80 mm) with the QR code of its status page. When too many
// wait, the advice (e-channels, nearby open halls with a shorter wait for
// that service) comes before the ticket, with "take a ticket anyway". A
// closed hall shows its hours, next opening and where to go. Appointment
// check-in by code; today's campaigns with their FAQ and the glossary
// terms they use (touch one: its plain explanation and examples); a fault the kiosk
// reports puts it out of service. Everything the hall decides is the API's.

import {
  $, api, apiImage, clear, currentLang, el, fmtClock, fmtDateTime, fmtWait, follow, frame, notify, onLang,
  pair, probe, refusal, serviceFigures, serviceName, setConn, t, useToken, whoAmI,
} from './hall.js';

const HOME_AFTER_MS = 30000; // a ticket or a refusal stays this long, then home
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const st = {
  me: null,
  services: [],
  hall: null,
  policy: null,
  campaigns: [],
  device: null, // GET /v1/devices/{me}
  view: 'home', // home, confirm, advice, ticket, checkin, closed, maintenance
  service: null, // the service touched
  ticket: null,
  qr: null,
  code: '',
  homeTimer: null,
  term: null, // {campaign, term}: the glossary term touched, explained over home
};

const main = frame('kiosk', () => draw());
useToken(pair('kiosk'));

function go(view) {
  st.view = view;
  clearTimeout(st.homeTimer);
  st.term = null;
  if (view === 'ticket' || view === 'advice' || view === 'confirm' || view === 'checkin')
    st.homeTimer = setTimeout(() => go('home'), HOME_AFTER_MS);
  draw();
}

function svcOf(code) {
  return serviceFigures(st.hall, code) || {};
}

function adviceFor(code) {
  return (st.hall && st.hall.advice || []).find((a) => a.service === code) || null;
}

function outOfService() {
  return st.device && st.device.out_of_service;
}

// ------------------------------------------------------------- drawing

function draw() {
  clear(main);
  main.dataset.view = st.view;
  if (!st.me) return;
  if (outOfService() && st.view !== 'maintenance') return drawOut();
  if (st.hall && st.hall.open === false && st.view !== 'maintenance' && st.view !== 'ticket')
    return drawClosed();
  ({
    home: drawHome, confirm: drawConfirm, advice: drawAdvice, ticket: drawTicket,
    checkin: drawCheckin, maintenance: drawMaintenance,
  }[st.view] || drawHome)();
}

function drawOut() {
  main.dataset.view = 'out-of-service';
  // Both languages at once: whoever walks up reads it.
  const other = currentLang() === 'en' ? 'zh-CN' : 'en';
  main.append(el('section', {class: 'panel out-of-service', id: 'out-of-service'},
    el('p', {class: 'big'}, t('kiosk.out_of_service')),
    el('p', {class: 'big second', lang: other}, t('kiosk.out_of_service', null, other)),
    el('p', null, t('kiosk.out_of_service_help')),
    maintenanceButton()));
}

function drawHome() {
  const grid = el('div', {class: 'services', id: 'services'});
  // Every service of the hall: a customer may take a ticket before the
  // counter for it opens (its wait shows once one is open).
  const offered = st.services;
  for (const s of offered) {
    const f = svcOf(s.service);
    grid.append(el('button', {
      type: 'button', class: 'service', data: {service: s.service},
      onclick: () => touch(s.service),
    },
    el('span', {class: 'name'}, serviceName(st.services, s.service)),
    el('span', {class: 'wait'}, t('kiosk.waiting', {n: f.waiting || 0})),
    Number.isFinite(f.estimated_wait_s)
      ? el('span', {class: 'wait'}, t('kiosk.est_wait', {w: fmtWait(f.estimated_wait_s)})) : null));
  }
  if (offered.length === 0)
    grid.append(el('p', {class: 'empty'}, t('kiosk.no_service')));
  const side = el('aside', {class: 'side'},
    el('button', {type: 'button', class: 'big-action', id: 'checkin-start',
                  onclick: () => { st.code = ''; go('checkin'); }}, t('kiosk.checkin')),
    campaignsBox());
  main.append(el('p', {class: 'lead'}, t('kiosk.choose')), el('div', {class: 'kiosk-home'}, grid, side),
    el('footer', {class: 'foot'}, hoursLine(), maintenanceButton()));
}

function campaignsBox() {
  const box = el('section', {class: 'campaigns', id: 'campaigns'}, el('h2', null, t('kiosk.campaigns')));
  if (st.campaigns.length === 0) box.append(el('p', {class: 'muted'}, t('kiosk.no_campaigns')));
  for (const c of st.campaigns) {
    const terms = c.glossary || c.terms || [];
    const item = el('article', {class: 'campaign', data: {campaign: c.id}},
      el('h3', null, c.title || c.id));
    const text = c.texts && (c.texts.kiosk || c.texts.signage);
    if (text) item.append(el('p', null, withTerms(text, terms, c)));
    // Every term the campaign uses, touchable even where the text above
    // does not show it (a term of the FAQ).
    if (terms.length) {
      item.append(el('div', {class: 'terms'}, el('span', {class: 'muted'}, t('kiosk.terms')),
        ...terms.map((g) => termButton(g, c, g.term))));
    }
    const faq = el('dl', {class: 'faq'});
    for (const q of c.faq || []) faq.append(el('dt', null, q.question), el('dd', null, q.answer));
    for (const g of terms)
      faq.append(el('dt', {class: 'term'}, t('kiosk.term', {term: g.term})), el('dd', null, g.explanation || g.definition || ''));
    if (faq.firstChild) item.append(el('details', null, el('summary', null, t('kiosk.faq')), faq));
    box.append(item);
  }
  if (st.term) box.append(termPanel());
  return box;
}

function termButton(g, c, label) {
  return el('button', {type: 'button', class: 'term-link', data: {term: g.term, campaign: c.id},
                       onclick: () => showTerm(c.id, g.term)}, label);
}

// The campaign's text with each glossary term in it as a button; terms are
// matched as HQ found them (case aside), the longest first.
function withTerms(text, terms, c) {
  const order = [...terms].filter((g) => g.term).sort((a, b) => b.term.length - a.term.length);
  const lower = text.toLowerCase();
  const out = [];
  let at = 0;
  while (at < text.length) {
    let best = -1;
    let hit = null;
    for (const g of order) {
      const i = lower.indexOf(g.term.toLowerCase(), at);
      if (i >= 0 && (best < 0 || i < best)) { best = i; hit = g; }
    }
    if (!hit) break;
    if (best > at) out.push(text.slice(at, best));
    out.push(termButton(hit, c, text.slice(best, best + hit.term.length)));
    at = best + hit.term.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

function showTerm(campaign, term) {
  st.term = {campaign, term};
  clearTimeout(st.homeTimer);
  st.homeTimer = setTimeout(() => { st.term = null; draw(); }, HOME_AFTER_MS);
  draw();
}

// The touched term's plain explanation and examples, over the home view.
function termPanel() {
  const c = st.campaigns.find((x) => x.id === st.term.campaign);
  const g = c && (c.glossary || c.terms || []).find((x) => x.term === st.term.term);
  if (!g) return null;
  const examples = g.examples || [];
  return el('section', {class: 'panel term-explain', id: 'term-explain', role: 'dialog', 'aria-modal': 'true',
                        data: {term: g.term}},
    el('h2', null, t('kiosk.term', {term: g.term})),
    el('p', {class: 'big explanation'}, g.explanation || g.definition || t('kiosk.term_none')),
    examples.length ? el('div', {class: 'examples'}, el('h3', null, t('kiosk.examples')),
      el('ul', null, ...examples.map((x) => el('li', null, x)))) : null,
    el('button', {type: 'button', class: 'primary', id: 'term-close',
                  onclick: () => { st.term = null; clearTimeout(st.homeTimer); draw(); }}, t('kiosk.term_close')));
}

function hoursToday() {
  const p = st.policy && st.policy.policy;
  if (!p || !p.opening_hours) return null;
  const d = DAYS[(new Date().getDay() + 6) % 7];
  return p.opening_hours[d] || [];
}

function hoursLine() {
  const h = hoursToday();
  if (!h) return el('span');
  return el('span', {class: 'hours', id: 'hours-today'},
    h.length ? t('kiosk.hours_today', {hours: h.join(', ')}) : t('kiosk.closed_today'));
}

function touch(code) {
  st.service = code;
  const a = adviceFor(code);
  go(a ? 'advice' : 'confirm');
}

function drawConfirm() {
  const f = svcOf(st.service);
  main.append(el('section', {class: 'panel confirm', id: 'confirm'},
    el('h2', null, serviceName(st.services, st.service)),
    el('p', {class: 'big'}, t('kiosk.est_wait', {w: fmtWait(f.estimated_wait_s)})),
    el('div', {class: 'actions'},
      el('button', {type: 'button', class: 'primary', id: 'take-normal',
                    onclick: () => issue('normal')}, t('kiosk.take')),
      el('button', {type: 'button', class: 'secondary', id: 'take-priority',
                    onclick: () => issue('elderly')}, t('kiosk.take_priority'))),
    el('p', {class: 'muted'}, t('kiosk.priority_help')),
    backButton()));
}

function drawAdvice() {
  const a = adviceFor(st.service) || {};
  const box = el('section', {class: 'panel advice', id: 'advice'},
    el('h2', null, t('kiosk.advice_title')),
    el('p', {class: 'big'}, t('kiosk.advice_wait', {n: a.waiting, w: fmtWait(a.estimated_wait_s)})));
  if ((a.echannels || []).length) {
    box.append(el('h3', null, t('kiosk.echannels')),
      el('ul', {class: 'echannels', id: 'echannels'},
        a.echannels.map((c) => el('li', {data: {channel: c}}, t('channel.' + c)))));
  }
  const halls = nearbyHalls(a);
  if (halls.length) {
    const list = el('ul', {class: 'nearby', id: 'nearby'});
    for (const h of halls) {
      list.append(el('li', {data: {hall: h.hall}},
        el('strong', null, h.name || h.hall),
        h.address ? el('span', null, h.address) : null,
        h.wait !== null ? el('span', {class: 'wait'}, t('kiosk.nearby_wait', {w: fmtWait(h.wait)})) : null));
    }
    box.append(el('h3', null, t('kiosk.nearby')), list);
  }
  box.append(el('div', {class: 'actions'},
    el('button', {type: 'button', class: 'primary', id: 'take-anyway',
                  onclick: () => go('confirm')}, t('kiosk.take_anyway')),
    backButton()));
  main.append(box);
}

// The halls the advice proposes, in its order, with what the board says of
// each: only those the hall marked as shorter for this service when the
// board is HQ's; the policy's halls by id otherwise.
function nearbyHalls(a) {
  const board = a.neighbours && a.neighbours.halls || [];
  const out = [];
  for (const id of a.nearby || []) {
    const h = board.find((x) => x.hall === id);
    if (a.nearby_from === 'hq' && (!h || !h.shorter)) continue;
    const svc = h && (h.services || []).find((s) => s.service === st.service);
    out.push({hall: id, name: h && h.name, address: h && h.address,
              wait: svc ? svc.estimated_wait_s : null});
  }
  return out;
}

async function issue(priority) {
  const r = await api('POST', '/v1/tickets', {service: st.service, priority, source: 'kiosk'});
  if (r.status === 201) return showTicket(r.body);
  if (r.status === 409 && r.body && r.body.error === 'out_of_service') {
    await loadDevice();
    return draw();
  }
  if (r.status === 409 && r.body && r.body.error === 'closed') {
    await loadHall();
    return go('home');
  }
  notify(refusal(r.status, r.body));
}

async function showTicket(ticket) {
  const t0 = performance.now();
  st.ticket = ticket;
  if (st.qr) URL.revokeObjectURL(st.qr);
  st.qr = null;
  go('ticket');
  st.qr = await apiImage('/v1/tickets/' + encodeURIComponent(ticket.ticket) + '/qr');
  if (st.view === 'ticket' && st.ticket === ticket) draw();
  probe.tickets = (probe.tickets || 0) + 1;
  probe.lastTicket = ticket;
  probe.ticketShownMs = performance.now() - t0;
  // The printer takes the same page (print.css lays it out on 80 mm).
  window.print();
}

function drawTicket() {
  const k = st.ticket;
  const now = new Date().toISOString();
  const ahead = k.ahead !== undefined ? k.ahead : Math.max(0, (k.position || 1) - 1);
  main.append(el('section', {class: 'panel ticket-card', id: 'ticket', data: {ticket: k.ticket}},
    el('div', {class: 't-main'},
      el('p', {class: 'hall'}, st.me.hall_name || st.me.hall || ''),
      el('p', {class: 'svc-name'}, serviceName(st.services, k.service)),
      el('p', {class: 'number', id: 'ticket-number'}, k.ticket),
      k.priority && k.priority !== 'normal' ? el('p', {class: 'priority'}, t('priority.' + k.priority)) : null,
      el('dl', {class: 'facts'},
        el('dt', null, t('kiosk.ahead')), el('dd', {id: 'ticket-ahead'}, String(ahead)),
        el('dt', null, t('kiosk.est')), el('dd', {id: 'ticket-wait'}, fmtWait(k.estimated_wait_s)),
        el('dt', null, t('kiosk.time')), el('dd', null, fmtDateTime(k.issued || now)))),
    el('div', {class: 't-qr'},
      st.qr ? el('img', {class: 'qr', id: 'ticket-qr', src: st.qr, alt: t('kiosk.qr_alt')}) :
        el('div', {class: 'qr placeholder'}),
      el('p', {class: 'qr-help'}, t('kiosk.qr_help'))),
    el('div', {class: 'actions no-print'},
      el('button', {type: 'button', class: 'secondary', onclick: () => window.print()}, t('kiosk.print_again')),
      el('button', {type: 'button', class: 'primary', id: 'done', onclick: () => go('home')}, t('kiosk.done')))));
}

function drawCheckin() {
  const shown = el('p', {class: 'code', id: 'checkin-code'}, st.code || '—');
  const pad = el('div', {class: 'keypad'});
  for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'del', '0', 'ok']) {
    pad.append(el('button', {
      type: 'button', class: 'key' + (k === 'ok' ? ' primary' : ''), data: {key: k},
      onclick: () => key(k),
    }, k === 'del' ? t('kiosk.key_del') : k === 'ok' ? t('kiosk.key_ok') : k));
  }
  main.append(el('section', {class: 'panel checkin', id: 'checkin'},
    el('h2', null, t('kiosk.checkin_title')), shown, pad, backButton()));
}

async function key(k) {
  if (k === 'del') st.code = st.code.slice(0, -1);
  else if (k === 'ok') return checkin();
  else if (st.code.length < 12) st.code += k;
  $('checkin-code').textContent = st.code || '—';
}

async function checkin() {
  if (!st.code) return;
  const r = await api('POST', '/v1/appointments/' + encodeURIComponent(st.code) + '/checkin');
  if (r.status === 200 || r.status === 201) return showTicket(r.body);
  notify(refusal(r.status, r.body));
}

function closedReason(h) {
  const c = h.open_state || h.closed || 'outside_hours';
  return t('closed.' + c);
}

function drawClosed() {
  const h = st.hall;
  main.dataset.view = 'closed';
  const box = el('section', {class: 'panel closed', id: 'closed'},
    el('h2', null, t('kiosk.closed_title')),
    el('p', {class: 'big'}, closedReason(h)),
    h.next_open ? el('p', {id: 'next-open'}, t('kiosk.next_open', {at: fmtDateTime(h.next_open)})) : null);
  const week = el('table', {class: 'week', id: 'posted-hours'});
  const p = st.policy && st.policy.policy;
  for (const d of DAYS) {
    const hrs = p && p.opening_hours && p.opening_hours[d] || [];
    week.append(el('tr', null, el('th', null, t('day.' + d)),
      el('td', null, hrs.length ? hrs.join(', ') : t('kiosk.closed_day'))));
  }
  box.append(el('h3', null, t('kiosk.posted_hours')), week);
  const divert = h.divert_to || [];
  if (divert.length) {
    const board = h.neighbours && h.neighbours.halls || [];
    box.append(el('h3', null, t('kiosk.divert')), el('ul', {class: 'nearby', id: 'divert'},
      divert.map((id) => {
        const n = board.find((x) => x.hall === id);
        return el('li', {data: {hall: id}}, el('strong', null, n && n.name || id),
          n && n.address ? el('span', null, n.address) : null);
      })));
  }
  const ch = p && p.diversion && p.diversion.echannels || [];
  if (ch.length)
    box.append(el('h3', null, t('kiosk.echannels')),
      el('ul', {class: 'echannels'}, ch.map((c) => el('li', null, t('channel.' + c)))));
  main.append(box, el('footer', {class: 'foot'}, maintenanceButton()));
}

// ---------------------------------------------------------- maintenance

// The kiosk reports its own faults (paper out, printer fault) and its
// repair; staff open this panel with the small button in the corner.
function maintenanceButton() {
  return el('button', {type: 'button', class: 'maint', id: 'maintenance',
                       onclick: () => go('maintenance')}, t('kiosk.maintenance'));
}

function drawMaintenance() {
  const states = ['ok', 'paper_out', 'printer_fault', 'fault'];
  main.append(el('section', {class: 'panel maintenance', id: 'maintenance-panel'},
    el('h2', null, t('kiosk.maintenance')),
    el('p', null, t('kiosk.state_now', {state: t('device.' + (st.device ? st.device.state : 'ok'))})),
    el('div', {class: 'actions'}, states.map((s) => el('button', {
      type: 'button', class: s === 'ok' ? 'primary' : 'secondary', data: {state: s},
      onclick: () => report(s),
    }, t('device.' + s)))),
    backButton()));
}

async function report(state) {
  const r = await api('POST', '/v1/devices/' + encodeURIComponent(st.me.device) + '/status',
                      {kind: 'kiosk', state});
  if (r.status !== 200) return notify(refusal(r.status, r.body));
  await loadDevice();
  go('home');
}

function backButton() {
  return el('button', {type: 'button', class: 'back', onclick: () => go('home')}, t('kiosk.back'));
}

// --------------------------------------------------------------- data

async function loadHall() {
  const r = await api('GET', '/v1/hall');
  if (r.status === 200) st.hall = r.body;
}

async function loadDevice() {
  const r = await api('GET', '/v1/devices/' + encodeURIComponent(st.me.device));
  if (r.status === 200) st.device = r.body;
}

// The services, hours and campaigns: at start, and again when HQ sends a
// new policy or calendar.
async function loadSetup() {
  const [sv, pol, camp] = await Promise.all([
    api('GET', '/v1/services'), api('GET', '/v1/policy'), api('GET', '/v1/campaigns/active')]);
  st.services = sv.body && sv.body.services || [];
  st.policy = pol.body;
  st.campaigns = camp.body && camp.body.campaigns || [];
}

async function start() {
  st.me = await whoAmI(['kiosk', 'manager', 'local']);
  if (!st.me) return;
  await loadSetup();
  await Promise.all([loadHall(), st.me.device ? loadDevice() : null]);
  draw();
  probe.ready = true;
  follow({
    state: setConn,
    hall: (h) => {
      st.hall = h;
      if (st.view === 'home' || st.view === 'closed') draw();
    },
    event: (type, ev) => {
      if (type === 'device_status' && ev.device === st.me.device) loadDevice().then(draw);
      if (type === 'calendar_applied' || type === 'policy_applied') loadSetup().then(draw);
    },
  });
}

start();
