// The dashboard's entry: loads the snapshot (regions with their aggregates,
// and every hall's tile), draws it, then keeps it live from the change
// stream. Stream events are only queued as they arrive (the newest tile per
// hall wins; region aggregates in order); once per animation frame flush()
// applies the queue and redraws just the tiles and headers that changed.
// Every figure shown is one hqd sent: the page computes no aggregate. It records its
// first-load timing for benchmarks (window.hbDashboard, performance marks
// "hb:data-loaded" and "hb:first-render"; docs/DASHBOARD.md).
//
// Nothing loads before someone is signed in (auth.js): the page asks
// GET /v1/me first and shows its sign-in form on a 401. The parts the
// person's permissions do not cover are hidden, not loaded to fail.
//
// The network view is painted first: only its modules are imported here
// (index.html preloads them side by side); the hall detail's and the
// campaigns view's modules and the other tabs' (reports, the workspace and
// its editors, enrolment) are imported after that first paint, and the
// campaigns' and trends' requests are made then too, so that none of them
// competes with the snapshot (docs/DASHBOARD.md, "The first paint").

import {PAGE, firstMe, firstSnapshot} from './prefetch.js'; // first: it asks before the catalogues load
import {WORST, fmtDuration, fmtNumber, getJSON, onSessionEnded, secondsSince} from './util.js';
import {applyStatic, lang, missing, mountSwitch, t, texts} from './i18n.js';
import {session, showPerson, showSignIn, whoAmI} from './auth.js';
import {Network} from './store.js';
import {NetworkView} from './network.js';
import {Stream} from './stream.js';
import {AlertFeed} from './alerts.js';
import {Trends} from './trends.js';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10000;
const REGIONS_EVERY_MS = 60000;
// hqd's stream carries region aggregates to whoever sees the whole network
// only; a person who sees part of it reads theirs this often instead.
const REGIONS_SCOPED_MS = 2000;
const CAMPAIGNS_EVERY_MS = 60000;
const ROLLOUT_SHOWN_MS = 5000; // while the campaigns view is shown
const ROLLOUT_HIDDEN_MS = 30000;

const $ = (id) => document.getElementById(id);

const dash = {
  ready: false, // true once the first render is on screen
  timing: {dataLoadedMs: null, firstRenderMs: null, halls: 0, snapshotBytes: 0, requests: 0},
  stats: {tileEvents: 0, regionEvents: 0, alertEvents: 0, frames: 0, tilesDrawn: 0, lastFlushMs: 0, maxFlushMs: 0,
    reloads: 0, reconnects: 0, lastEventId: 0},
};
// The language and its catalogue, for the browser test's check that every
// text shown is one of the catalogue's (or data).
dash.i18n = {lang, texts, missing: () => [...missing]};
window.hbDashboard = dash;

let net = new Network();
let view;
let stream;
let feed;
let detail = null; // HallDetail, once detail.js is in (after the first paint)
let campaigns = null; // Campaigns, once calendar.js is in (likewise)
let reports;
let trends;
let workspace;
let enrolment;
const pendingTiles = new Map();
const pendingRegions = [];
let framePending = false;
let loading = false;

function setConn(state, text) {
  const c = $('conn-state');
  c.dataset.state = state;
  const label = t(`conn.${state}`);
  c.textContent = text ? t('conn.withWhy', {state: label, why: text}) : label;
}

// ---- the snapshot

// Which server the snapshot came from: read before it, so that a restart
// between the two is taken for one afterwards, never missed. GET /v1/me
// tells (server_started) whoever is signed in; /v1/status would need a
// permission over the whole network.
let serverStarted = null;

async function sameServer() {
  const r = await getJSON('/v1/me');
  if (r.status !== 200 || !r.body) return null;
  return r.body.server_started === serverStarted;
}

// `knownStarted`: the server's start as GET /v1/me answered it just before
// (the page's first load asks it to learn who is signed in), which saves
// asking again; `early`: the first page of tiles and the aggregates asked
// already after that answer (prefetch.js), or null.
async function loadSnapshot(knownStarted, early) {
  if (typeof knownStarted === 'string') {
    serverStarted = knownStarted;
  } else {
    const me = await getJSON('/v1/me');
    if (me.status !== 200 || !me.body) {
      throw new Error(t('conn.answered', {what: 'GET /v1/me', status: me.status || t('app.noAnswer')}));
    }
    serverStarted = me.body.server_started;
  }
  const regionsP = early ? early.regions : getJSON('/v1/regions');
  const tiles = [];
  let streamId = null;
  let offset = 0;
  let total = 1;
  let requests = 2;
  while (offset < total) {
    const r = await (offset === 0 && early ? early.firstPage
      : getJSON(`/v1/live/halls?offset=${offset}&limit=${PAGE}`));
    requests++;
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.halls)) {
      throw new Error(t('conn.answered', {what: 'GET /v1/live/halls', status: r.status || t('app.noAnswer')}));
    }
    // The oldest page's stream id: changes after it are replayed, and a
    // tile replayed over a newer page's is overtaken by the later events.
    if (streamId === null || r.body.stream_id < streamId) streamId = r.body.stream_id;
    total = r.body.total;
    for (const t of r.body.halls) tiles.push(t);
    if (!r.body.halls.length) break;
    offset += r.body.halls.length;
  }
  const regions = await regionsP;
  const body = regions.status === 200 && regions.body ? regions.body : null;
  // The aggregates' stream id counts too: the stream replays from the
  // oldest of them, and later events put every part right.
  if (body && typeof body.stream_id === 'number' && (streamId === null || body.stream_id < streamId)) {
    streamId = body.stream_id;
  }
  return {regions: body ? body.regions : [], aggregates: body, tiles, streamId, requests};
}

async function load(first) {
  if (loading) return;
  loading = true;
  stream.close();
  let wait = RETRY_MIN_MS;
  let started = first && session.me ? session.me.server_started : null;
  let early = first ? await firstSnapshot() : null;
  for (;;) {
    try {
      const snap = await loadSnapshot(started, early);
      if (first) {
        performance.mark('hb:data-loaded');
        dash.timing.requests = snap.requests;
      }
      pendingTiles.clear();
      pendingRegions.length = 0;
      net = new Network();
      net.scoped = !(snap.aggregates && snap.aggregates.total);
      net.setRegions(snap.regions);
      for (const t of snap.tiles) net.applyTile(t);
      net.applyRegions(snap.aggregates);
      net.recompute();
      view.net = net;
      if (detail) detail.setNetwork(net);
      // The first load shows the trends' frame only; its chart is fetched
      // after the first paint (afterFirstPaint).
      trends.setNetwork(net, !first);
      view.build(first);
      paintSummary();
      if (first) markFirstRender(snap.tiles.length);
      else dash.stats.reloads++;
      stream.open(snap.streamId || 0);
      if (!first) {
        // Alerts raised or cleared in the gap are in no snapshot of tiles.
        feed.clearAll();
        feed.load();
      }
      if (detail && detail.hall) detail.refresh(true);
      break;
    } catch (e) {
      started = null; // a retry asks again: the server may have restarted
      early = null;
      // The other parts do not wait for a network view that cannot load.
      if (first) afterFirstPaint();
      setConn('error', t('conn.retrying', {why: e.message}));
      $('network').setAttribute('aria-busy', 'true');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(RETRY_MAX_MS, wait * 2);
    }
  }
  loading = false;
}

// "First render done" is marked after the frame that shows the view has
// been painted: the next animation frame, then a task after it.
function markFirstRender(halls) {
  requestAnimationFrame(() => setTimeout(() => {
    performance.mark('hb:first-render');
    performance.measure('hb:first-load', {start: 0, end: 'hb:first-render'});
    const loaded = performance.getEntriesByName('hb:data-loaded')[0];
    const rendered = performance.getEntriesByName('hb:first-render')[0];
    dash.timing.dataLoadedMs = loaded ? Math.round(loaded.startTime) : null;
    dash.timing.firstRenderMs = rendered ? Math.round(rendered.startTime) : null;
    dash.timing.halls = halls;
    const nav = performance.getEntriesByType('resource').filter((r) => r.name.includes('/v1/live/halls'));
    dash.timing.snapshotBytes = nav.reduce((s, r) => s + (r.transferSize || r.encodedBodySize || 0), 0);
    dash.ready = true;
    afterFirstPaint();
  }, 0));
}

// ---- what waits for the first paint

// A loader that runs `load` once and keeps its promise for every caller;
// a failure is logged (`what` could not be loaded) and forgotten, so that
// the next call tries again.
function loadOnce(load, what) {
  let loading = null;
  return () => {
    if (!loading) {
      loading = load().catch((e) => {
        loading = null;
        console.error(`dashboard: ${what} could not be loaded`, e);
        throw e;
      });
    }
    return loading;
  };
}

// The other tabs' modules, imported once (after the first paint, or when a
// tab is opened first); a failed import is tried again at the next click.
const loadOtherTabs = loadOnce(
  () => Promise.all([import('./reports.js'), import('./workspace.js'), import('./enrol.js')])
    .then(([r, w, e]) => {
      reports = new r.Reports($('reports'), () => net);
      dash.reports = reports; // the answers it shows, for tests
      workspace = new w.Workspace($('workspace'));
      $('tab-workspace').hidden = !workspace.available();
      enrolment = new e.Enrolment($('enrol'));
      $('tab-enrol').hidden = !enrolment.available(); // admins only (halls.enrol)
    }),
  'a tab\'s module');

// The hall detail and the campaigns view (detail.js with typical.js,
// calendar.js), imported once after the first paint, or when a hall is
// opened or the campaigns tab chosen before it: nobody sees them before.
// A failed import is tried again at the next use.
const loadLaterParts = loadOnce(
  () => Promise.all([import('./detail.js'), import('./calendar.js')])
    .then(([d, c]) => {
      campaigns = new c.Campaigns($('rollout'), $('calendar'), null);
      detail = new d.HallDetail($('hall-detail'), $('hall-detail-body'), $('hall-detail-close'), {
        net, alerts: feed, published: () => campaigns.published(), can, trends,
        onClose: () => {
          for (const t of document.querySelectorAll('.tile.selected')) t.classList.remove('selected');
        },
      });
      detail.setNetwork(net);
    }),
  'the hall detail\'s or the campaigns\' module');

// Runs once the network view is on screen (at once when the person has no
// network view): the network view's provinces below the screen, the
// campaigns view's answers (which the hall detail also reads), the trends
// chart, the other tabs' modules.
let afterPaintDone = false;

function afterFirstPaint() {
  if (afterPaintDone) return;
  afterPaintDone = true;
  loadLaterParts().then(() => {
    if (can.rollout) campaigns.loadRollout();
    if (can.campaigns) campaigns.loadCampaigns();
  }, () => {});
  if (can.live) {
    view.fillDeferred();
    trends.tick();
  }
  loadOtherTabs().catch(() => {});
}

// ---- live changes, one frame at a time

function schedule() {
  if (framePending) return;
  framePending = true;
  // A hidden tab gets no animation frames; keep applying, slowly, so that
  // it is current when shown and its queues stay small.
  if (document.hidden) setTimeout(flush, 250);
  else requestAnimationFrame(flush);
}

function flush() {
  framePending = false;
  const t0 = performance.now();
  const ids = [];
  for (const t of pendingTiles.values()) {
    if (net.applyTile(t)) ids.push(t.hall);
  }
  pendingTiles.clear();
  for (const r of pendingRegions) net.applyRegions(r);
  pendingRegions.length = 0;
  const changed = net.recompute();
  view.flush(ids, changed);
  const alertsChanged = feed.flush();
  if (ids.length || changed.totals) paintSummary();
  if (detail && detail.hall && (ids.includes(detail.hall) || alertsChanged)) detail.changed(detail.hall);
  const ms = performance.now() - t0;
  dash.stats.frames++;
  dash.stats.tilesDrawn += ids.length;
  dash.stats.lastFlushMs = Math.round(ms * 100) / 100;
  if (ms > dash.stats.maxFlushMs) dash.stats.maxFlushMs = dash.stats.lastFlushMs;
}

function onTile(t) {
  if (!t || typeof t.hall !== 'string') return;
  dash.stats.tileEvents++;
  dash.stats.lastEventId = stream.lastId;
  pendingTiles.set(t.hall, t);
  schedule();
}

// The aggregates hqd recomputed in a round: applied in order, since each
// event holds the regions that changed in it.
function onRegions(r) {
  dash.stats.regionEvents++;
  dash.stats.lastEventId = stream.lastId;
  // Dropping one would lose a region's change for good: past the bound
  // (a page not drawn for minutes) the snapshot is loaded again instead.
  if (pendingRegions.length >= 1000) {
    pendingRegions.length = 0;
    load(false);
    return;
  }
  pendingRegions.push(r);
  schedule();
}

function onAlert(a) {
  dash.stats.alertEvents++;
  dash.stats.lastEventId = stream.lastId;
  feed.push(a);
  schedule();
}

// ---- the header

function paintSummary() {
  const a = net.totals;
  $('sum-halls').textContent = fmtNumber(a.halls);
  $('sum-halls-words').textContent = t('head.halls', {n: a.halls});
  $('sum-online').textContent = fmtNumber(a.online);
  $('sum-waiting').textContent = fmtNumber(a.waiting);
  $('sum-alerts').textContent = fmtNumber(a.alerts);
  $('sum-alerts-words').textContent = t('head.alerts', {n: a.alerts});
  paintLongest();
  for (let i = 0; i < WORST.length; i++) {
    const b = document.querySelector(`#legend [data-count="${WORST[i]}"]`);
    const v = fmtNumber(a.byWorst[i]);
    if (b.textContent !== v) b.textContent = v;
  }
}

function paintLongest() {
  const a = net.totals;
  const text = a.oldestMs ? fmtDuration(secondsSince(a.oldestMs)) : '–';
  const e = $('sum-longest');
  if (e.textContent !== text) e.textContent = text;
}

function setupLegend() {
  const legend = $('legend');
  legend.addEventListener('click', (e) => {
    const chip = e.target.closest('.chip');
    if (!chip) return;
    const on = chip.getAttribute('aria-pressed') !== 'true';
    for (const c of legend.querySelectorAll('.chip')) c.setAttribute('aria-pressed', 'false');
    chip.setAttribute('aria-pressed', on ? 'true' : 'false');
    view.setFilter(on ? chip.dataset.worst : null);
  });
}

function setupTabs() {
  const tabs = [['tab-network', 'view-network'], ['tab-calendar', 'view-calendar'],
    ['tab-reports', 'view-reports'], ['tab-workspace', 'view-workspace'], ['tab-enrol', 'view-enrol']];
  for (const [tab, panel] of tabs) {
    $(tab).addEventListener('click', () => {
      for (const [t, p] of tabs) {
        $(t).setAttribute('aria-selected', t === tab ? 'true' : 'false');
        $(p).hidden = t !== tab;
      }
      if (tab === 'tab-calendar') {
        loadLaterParts().then(() => {
          if (can.rollout) campaigns.loadRollout();
          if (can.campaigns) campaigns.loadCampaigns();
        }, () => {});
      }
      if (tab === 'tab-reports') loadOtherTabs().then(() => reports.show(), () => {});
      if (tab === 'tab-workspace') loadOtherTabs().then(() => workspace.show(), () => {});
      if (tab === 'tab-enrol') loadOtherTabs().then(() => enrolment.show(), () => {});
    });
  }
}

function setupSearch() {
  $('search').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = $('hall-search').value;
    const id = net.find(q);
    const note = $('search-note');
    if (!id) {
      note.textContent = q.trim() ? t('search.none', {q: q.trim()}) : '';
      return;
    }
    note.textContent = '';
    $('tab-network').click();
    view.reveal(id);
    openHall(id);
  });
  $('expand-all').addEventListener('click', () => view.expandAll());
  $('collapse-all').addEventListener('click', () => view.collapseAll());
}

function openHall(id) {
  if (!id) return;
  for (const t of document.querySelectorAll('.tile.selected')) t.classList.remove('selected');
  const b = view.tileEls.get(id);
  if (b) b.classList.add('selected');
  loadLaterParts().then(() => detail.open(id), () => {});
}

// What the person may read decides which parts exist: a part whose route
// the guard would refuse is hidden (its tab, its panel) and never loaded.
const can = {live: false, alerts: false, campaigns: false, rollout: false, reports: false};

function applyPermissions() {
  can.live = session.can('live.read');
  can.alerts = session.can('alerts.read') && can.live;
  can.campaigns = session.can('campaign.read');
  can.rollout = session.can('policy.read');
  can.reports = session.can('reports.read');
  document.body.dataset.live = can.live ? 'yes' : 'no';
  for (const id of ['tab-network', 'search', 'expand-all', 'collapse-all', 'summary', 'legend']) {
    $(id).hidden = !can.live;
  }
  $('alerts-side').hidden = !can.alerts;
  document.body.dataset.alerts = can.alerts ? 'yes' : 'no';
  $('tab-calendar').hidden = !(can.campaigns || can.rollout);
  $('tab-reports').hidden = !can.reports;
  $('rollout-part').hidden = !can.rollout;
  $('calendar-part').hidden = !can.campaigns;
  if (!can.live) {
    // Nothing live to watch: the campaigns view is the page (a marketer, a
    // reviewer, a policy editor).
    $('view-network').hidden = true;
    $('tab-network').setAttribute('aria-selected', 'false');
    $('tab-calendar').setAttribute('aria-selected', 'true');
    $('view-calendar').hidden = false;
    if (!(can.campaigns || can.rollout)) {
      $('nothing-to-show').hidden = false;
    }
  }
}

function boot() {
  performance.mark('hb:boot');
  applyPermissions();
  view = new NetworkView($('network'), net, {onOpenHall: openHall});
  feed = new AlertFeed($('alert-feed'), $('alerts-open-count'), {onOpenHall: openHall});
  trends = new Trends($('trends'), {onOpenHall: openHall});
  stream = new Stream({
    onTile, onRegions, onAlert, sameServer,
    onReset: () => load(false),
    onState: (state, text) => {
      setConn(state, text);
      dash.stats.reconnects = stream.reconnects;
    },
  });
  setupLegend();
  setupTabs();
  setupSearch();
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && detail) detail.close();
  });

  if (can.alerts) feed.load();
  if (can.live) {
    load(true);
  } else {
    setConn('live', t('conn.campaignsOnly'));
    afterFirstPaint();
  }

  setInterval(() => {
    view.tickWaits();
    trends.tick();
    if (detail) detail.tick();
    paintLongest();
  }, 1000);
  let lastRegions = Date.now();
  setInterval(async () => {
    if (!can.live || loading) return;
    const every = net.scoped ? REGIONS_SCOPED_MS : REGIONS_EVERY_MS;
    if (Date.now() - lastRegions < every) return;
    lastRegions = Date.now();
    const r = await getJSON('/v1/regions');
    if (r.status === 200 && r.body && Array.isArray(r.body.regions)) {
      net.setRegions(r.body.regions);
      if (net.scoped) {
        pendingRegions.push(r.body);
        schedule();
      }
      view.paintAll();
    }
  }, 1000);
  setInterval(() => {
    if (can.campaigns && campaigns) campaigns.loadCampaigns();
  }, CAMPAIGNS_EVERY_MS);
  let lastRollout = 0;
  setInterval(() => {
    const every = $('view-calendar').hidden ? ROLLOUT_HIDDEN_MS : ROLLOUT_SHOWN_MS;
    if (can.rollout && campaigns && Date.now() - lastRollout >= every) {
      lastRollout = Date.now();
      campaigns.loadRollout();
    }
  }, 1000);
}

// Why the sign-in page is shown after a reload (sessionStorage: this tab
// only, gone with it).
const NOTE_KEY = 'hallbus.signin-note';
const NOTES = {ended: 'auth.ended', out: 'auth.signedOut'};

function reloadTo(note) {
  try {
    sessionStorage.setItem(NOTE_KEY, note);
  } catch (e) {
    // Storage refused (private mode): the form shows without the note.
  }
  location.reload();
}

async function start() {
  document.title = t('app.title');
  applyStatic();
  mountSwitch($('lang-switch'));
  mountSwitch($('signin-lang'));
  setConn('connecting');
  let note = null;
  try {
    const k = NOTES[sessionStorage.getItem(NOTE_KEY)];
    note = k ? t(k) : null;
    sessionStorage.removeItem(NOTE_KEY);
  } catch (e) {
    note = null;
  }
  let who = await whoAmI(firstMe());
  for (let wait = RETRY_MIN_MS; who.status !== 200 && who.status !== 401;) {
    document.body.dataset.auth = 'unknown';
    $('boot-note').textContent = t('app.unreachable', {status: who.status || t('app.noAnswer')});
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(RETRY_MAX_MS, wait * 2);
    who = await whoAmI();
  }
  $('boot-note').textContent = '';
  const me = who.me || await showSignIn(note);
  // From now on a 401 anywhere means the session is over (expired, ended
  // elsewhere, the person removed): back to the sign-in form, with a
  // fresh page so that no stream or timer of the old session lives on.
  onSessionEnded(() => reloadTo(session.signingOut ? 'out' : 'ended'));
  showPerson(me, () => reloadTo('out'));
  boot();
}

start();
