// A ticket's status on the customer's phone (/t/{ref}, the address of the
// printed QR code): the number, the service, how many are ahead and the
// estimated wait while waiting, the counter once called. It needs no token:
// it reads the public status (GET /v1/public/tickets/{ref}), which holds no
// personal data, every few seconds while the page is shown.

import {$, api, clear, el, fmtClock, fmtWait, frame, probe, refusal, setConn, t} from './hall.js';

const REF = decodeURIComponent(location.pathname.split('/')[2] || '');
const EVERY_MS = 5000;

const st = {ticket: null, status: 0, body: null};
const main = frame('ticket', () => draw());

function draw() {
  clear(main);
  const k = st.ticket;
  if (!k) {
    if (st.status) main.append(el('section', {class: 'panel', id: 'ticket-missing'},
      el('p', {class: 'big'}, st.status === 404 ? t('ticket.unknown') : refusal(st.status, st.body))));
    return;
  }
  main.dataset.state = k.state;
  const box = el('section', {class: 'panel ticket-status', id: 'ticket-status', data: {state: k.state}},
    el('p', {class: 'hall'}, k.hall_name || ''),
    el('p', {class: 'svc-name'}, k.service_name || k.service),
    el('p', {class: 'number'}, k.ticket),
    el('p', {class: 'big', id: 'ticket-state'}, t('tstate.' + k.state)));
  if (k.state === 'waiting') {
    box.append(el('dl', {class: 'facts'},
      el('dt', null, t('kiosk.ahead')), el('dd', {id: 'ticket-ahead'}, String(k.ahead || 0)),
      el('dt', null, t('kiosk.est')), el('dd', null, fmtWait(k.estimated_wait_s))));
  } else if (k.counter && (k.state === 'called' || k.state === 'serving')) {
    box.append(el('p', {class: 'big', id: 'ticket-counter'}, t('ticket.go', {n: k.counter})),
      k.called ? el('p', {class: 'muted'}, t('ticket.called_at', {at: fmtClock(k.called)})) : null);
  }
  box.append(el('p', {class: 'muted'}, t('ticket.updated', {at: fmtClock(new Date().toISOString())})));
  main.append(box);
}

async function poll() {
  const r = await api('GET', '/v1/public/tickets/' + encodeURIComponent(REF));
  st.status = r.status;
  st.body = r.body;
  st.ticket = r.status === 200 ? r.body : null;
  setConn(r.status === 0 ? 'down' : 'live');
  probe.ready = true;
  draw();
  const waitMs = r.status === 429 && r.body && r.body.retry_after_s ? r.body.retry_after_s * 1000 : EVERY_MS;
  if (!st.ticket || !['served', 'no_show', 'cancelled'].includes(st.ticket.state))
    setTimeout(poll, document.hidden ? waitMs * 3 : waitMs);
}

poll();
