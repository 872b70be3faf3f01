// The evaluator of counter n (/rate/{n}): a small screen facing the
// customer. After the counter completes a service it asks for a score, 1 to
// 5, with optional reasons, and thanks; otherwise it greets. What there is
// to rate is the hall's (GET /v1/counters/{n}/rating), followed live.

import {
  api, clear, el, follow, frame, notify, pair, probe, refusal, setConn, t, useToken, whoAmI,
} from './hall.js';

const COUNTER = decodeURIComponent(location.pathname.split('/')[2] || '');
const THANKS_MS = 8000;

const st = {me: null, rating: null, score: 0, reasons: new Set(), thanked: false};

const main = frame('rate', () => draw());
useToken(pair('rate.' + COUNTER));

function draw() {
  clear(main);
  if (!st.me) return;
  const r = st.rating;
  if (st.thanked) {
    main.dataset.view = 'thanks';
    return main.append(el('section', {class: 'panel rate', id: 'thanks'},
      el('p', {class: 'big'}, t('rate.thanks'))));
  }
  if (!r || !r.ticket || r.rated) {
    main.dataset.view = 'idle';
    return main.append(el('section', {class: 'panel rate', id: 'rate-idle'},
      el('p', {class: 'big'}, t('rate.welcome', {n: COUNTER}))));
  }
  main.dataset.view = 'ask';
  const stars = el('div', {class: 'scores', id: 'scores'});
  for (let i = 1; i <= 5; i++) {
    stars.append(el('button', {
      type: 'button', class: 'score' + (i <= st.score ? ' on' : ''), data: {score: String(i)},
      'aria-label': t('rate.score_n', {n: i}),
      onclick: () => { st.score = i; draw(); },
    }, el('span', {class: 'star'}, '★'), el('span', {class: 'label'}, t('rate.s' + i))));
  }
  const reasons = el('div', {class: 'toggles', id: 'reasons'});
  for (const id of r.reasons || []) {
    const on = st.reasons.has(id);
    reasons.append(el('button', {
      type: 'button', class: 'toggle' + (on ? ' on' : ''), data: {reason: id},
      onclick: () => { on ? st.reasons.delete(id) : st.reasons.add(id); draw(); },
    }, t('reason.' + id)));
  }
  main.append(el('section', {class: 'panel rate', id: 'rate-ask', data: {ticket: r.ticket}},
    el('h2', null, t('rate.ask', {ticket: r.ticket})), stars,
    st.score ? el('p', {class: 'muted'}, t('rate.reasons')) : null, st.score ? reasons : null,
    el('button', {type: 'button', class: 'primary huge', id: 'rate-send', disabled: !st.score,
                  onclick: send}, t('rate.send'))));
}

async function send() {
  const body = {score: st.score, ticket: st.rating.ticket};
  if (st.reasons.size) body.reasons = [...st.reasons];
  const r = await api('POST', '/v1/feedback', body);
  if (r.status !== 201) return notify(refusal(r.status, r.body));
  probe.rated = r.body;
  st.thanked = true;
  st.score = 0;
  st.reasons.clear();
  draw();
  setTimeout(() => { st.thanked = false; load(); }, THANKS_MS);
}

async function load() {
  const r = await api('GET', `/v1/counters/${encodeURIComponent(COUNTER)}/rating`);
  if (r.status === 200) {
    const changed = !st.rating || st.rating.ticket !== r.body.ticket || st.rating.rated !== r.body.rated;
    st.rating = r.body;
    if (changed) {
      st.score = 0;
      st.reasons.clear();
    }
    if (changed && !st.thanked) draw();
  } else if (r.status === 401 || r.status === 403) {
    notify(refusal(r.status, r.body), 'error', 0);
  }
}

async function start() {
  st.me = await whoAmI(['evaluator', 'counter', 'manager', 'local']);
  if (!st.me) return;
  if (st.me.counter && st.me.counter !== COUNTER) {
    notify(t('err.other_counter', {mine: st.me.counter, here: COUNTER}), 'error', 0);
    setConn('off');
    document.body.dataset.refused = 'scope';
    return;
  }
  await load();
  draw();
  probe.ready = true;
  follow({
    state: setConn,
    event: (type, ev) => {
      if ((type === 'service_completed' || type === 'satisfaction_scored') &&
          (!ev.counter || ev.counter === COUNTER))
        load();
    },
  });
}

start();
