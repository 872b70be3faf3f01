// The queue display (/display): the ticket now called and its counter,
// large; the last calls; who waits for each service and the estimated
// wait; campaign slides between calls; today's hours. Each call is spoken
// in Chinese, then in English (one utterance per language, its `lang` set,
// spoken whether or not the browser lists a voice for it), after a chime,
// and again on a recall. It follows the hall live, and resumes after a
// restart of branchd without losing a call (the stream's Last-Event-ID).

import {
  $, api, clear, el, fmtWait, follow, frame, pair, probe, serviceTable, setConn, t,
  useToken, whoAmI,
} from './hall.js';

const LAST_CALLS = 6;
const SLIDE_MS = 8000;
const CALL_FOCUS_MS = 12000; // a call fills the slide area this long
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
// The languages a call is spoken in, in order, and the `lang` each
// utterance carries.
const SPOKEN = [{lang: 'zh-CN', catalogue: 'zh-CN'}, {lang: 'en-US', catalogue: 'en'}];

const st = {
  me: null, services: [], hall: null, policy: null, campaigns: [],
  calls: [], // newest first: {ticket, counter, at, recall}
  slide: 0, focusUntil: 0,
};
probe.calls = [];
probe.spoken = [];

const main = frame('display', () => draw());
useToken(pair('display'));

// ------------------------------------------------------------- sound

let audio = null;

// Two short tones through Web Audio: the chime before a call. A browser
// that holds sound until a touch gets a button to allow it.
function chime() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const now = audio.currentTime;
    for (const [i, f] of [[0, 880], [1, 660]]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, now + i * 0.35);
      g.gain.exponentialRampToValueAtTime(0.3, now + i * 0.35 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.35 + 0.32);
      o.connect(g).connect(audio.destination);
      o.start(now + i * 0.35);
      o.stop(now + i * 0.35 + 0.34);
    }
    probe.chimes = (probe.chimes || 0) + 1;
  } catch (e) {
    probe.chimeError = String(e);
  }
}

// A voice for `lang` when the browser has one; none is fine, the browser
// then speaks with its default for the utterance's lang.
function voiceFor(lang) {
  const voices = window.speechSynthesis ? speechSynthesis.getVoices() : [];
  const base = lang.split('-')[0];
  return voices.find((v) => v.lang === lang) || voices.find((v) => v.lang.startsWith(base)) || null;
}

function announce(call) {
  chime();
  for (const s of SPOKEN) {
    const text = t('display.say', {ticket: call.ticket, counter: call.counter}, s.catalogue);
    probe.spoken.push({text, lang: s.lang});
    if (!window.speechSynthesis || typeof SpeechSynthesisUtterance === 'undefined') continue;
    const u = new SpeechSynthesisUtterance(text);
    u.lang = s.lang;
    const v = voiceFor(s.lang);
    if (v) u.voice = v;
    u.rate = 0.9;
    speechSynthesis.speak(u); // queued: Chinese, then English
  }
}

// ------------------------------------------------------------- drawing

function draw() {
  clear(main);
  if (!st.me) return;
  const now = st.calls[0];
  const calling = el('section', {class: 'now', id: 'now-calling', data: {ticket: now ? now.ticket : ''}},
    el('h2', null, t('display.now')),
    now ? el('div', {class: 'call-big'},
      el('span', {class: 'ticket', id: 'now-ticket'}, now.ticket),
      el('span', {class: 'arrow'}, '→'),
      el('span', {class: 'counter', id: 'now-counter'}, t('display.counter', {n: now.counter})))
      : el('p', {class: 'muted big'}, t('display.none')));
  const last = el('section', {class: 'last', id: 'last-calls'}, el('h2', null, t('display.last')),
    el('ol', null, st.calls.slice(1, LAST_CALLS + 1).map((c) => el('li', {data: {ticket: c.ticket}},
      el('span', {class: 'ticket'}, c.ticket), el('span', null, t('display.counter', {n: c.counter}))))));
  main.append(el('div', {class: 'display-grid'}, calling, slideBox(), last, waitingBox()),
    el('footer', {class: 'foot'}, hoursLine(), soundButton()));
}

function waitingBox() {
  const tb = serviceTable('waiting', [t('display.service'), t('display.waiting'), t('display.est')],
    st.services, st.hall, (s) => [el('td', {class: 'num'}, String(s.waiting || 0)),
      el('td', null, fmtWait(s.estimated_wait_s))]);
  return el('section', {class: 'queues'}, el('h2', null, t('display.queues')), tb);
}

function slideBox() {
  const box = el('section', {class: 'slides', id: 'slides'});
  const c = st.campaigns.length ? st.campaigns[st.slide % st.campaigns.length] : null;
  if (!c) {
    box.append(el('p', {class: 'welcome'}, t('display.welcome', {hall: st.me.hall_name || ''})));
    return box;
  }
  const text = c.texts && (c.texts.signage || c.texts.display || c.texts.kiosk);
  box.dataset.campaign = c.id;
  box.append(el('h2', null, c.title || c.id), text ? el('p', null, text) : null);
  const faq = (c.faq || [])[0];
  if (faq) box.append(el('p', {class: 'muted'}, faq.question + ' ' + faq.answer));
  return box;
}

function hoursLine() {
  const p = st.policy && st.policy.policy;
  const d = DAYS[(new Date().getDay() + 6) % 7];
  const h = p && p.opening_hours ? p.opening_hours[d] || [] : null;
  if (!h) return el('span');
  return el('span', {class: 'hours', id: 'hours-today'},
    h.length ? t('kiosk.hours_today', {hours: h.join(', ')}) : t('kiosk.closed_today'));
}

function soundButton() {
  if (!audio || audio.state !== 'suspended') return null;
  return el('button', {type: 'button', class: 'sound', id: 'sound-on',
                       onclick: () => audio.resume().then(draw)}, t('display.sound_on'));
}

// --------------------------------------------------------------- calls

function onCall(ticket, counter, recall) {
  const call = {ticket, counter, at: Date.now(), recall};
  st.calls = [call, ...st.calls.filter((c) => c.ticket !== ticket)].slice(0, LAST_CALLS + 1);
  st.focusUntil = Date.now() + CALL_FOCUS_MS;
  draw();
  probe.calls.push({ticket, counter, recall, shownAt: Date.now()});
  announce(call);
}

// The calls already made today, newest first, from the hall's tickets
// (called or being served), so a restarted display is not blank.
function seedCalls(h) {
  if (st.calls.length) return;
  const called = (h.tickets || []).filter((k) => k.counter && k.called)
    .sort((a, b) => (a.called < b.called ? 1 : -1));
  st.calls = called.slice(0, LAST_CALLS + 1).map((k) => ({ticket: k.ticket, counter: k.counter}));
}

async function start() {
  st.me = await whoAmI(['display', 'manager', 'local']);
  if (!st.me) return;
  const [sv, pol, camp, hall] = await Promise.all([api('GET', '/v1/services'),
    api('GET', '/v1/policy'), api('GET', '/v1/campaigns/active'), api('GET', '/v1/hall')]);
  st.services = sv.body && sv.body.services || [];
  st.policy = pol.body;
  st.campaigns = camp.body && camp.body.campaigns || [];
  if (hall.status === 200) {
    st.hall = hall.body;
    seedCalls(hall.body);
  }
  draw();
  probe.ready = true;
  setInterval(() => {
    if (Date.now() < st.focusUntil || st.campaigns.length < 2) return;
    st.slide++;
    $('slides') && $('slides').replaceWith(slideBox());
  }, SLIDE_MS);
  follow({
    state: setConn,
    hall: (h) => {
      st.hall = h;
      seedCalls(h);
      draw();
    },
    event: (type, ev) => {
      if (type === 'ticket_called') onCall(ev.ticket, ev.counter, false);
      else if (type === 'ticket_recalled') onCall(ev.ticket, ev.counter, true);
      else if (type === 'calendar_applied')
        api('GET', '/v1/campaigns/active').then((r) => { st.campaigns = r.body && r.body.campaigns || []; });
    },
  });
}

start();
