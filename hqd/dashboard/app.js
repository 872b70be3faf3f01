// The dashboard's entry: loads the snapshot (regions with their aggregates,
// and every hall's tile), draws it, then keeps it live from the change
// stream. Stream events are only queued as they arrive (the newest tile per
// hall wins; region aggregates in order); once per animation frame flush()
// applies the queue and redraws just the tiles and headers that changed.
// Every figure shown is one hqd sent: the page computes no aggregate. It records its
// first-load timing for benchmarks (window.hbDashboard, performance marks
// "hb:data-loaded" and "hb:first-render"; docs/DASHBOARD.md).

import {WORST, fmtDuration, fmtNumber, getJSON, secondsSince} from './util.js';
import {Network} from './store.js';
import {NetworkView} from './network.js';
import {Stream} from './stream.js';
import {AlertFeed} from './alerts.js';
import {HallDetail} from './detail.js';
import {Campaigns} from './calendar.js';
import {Reports} from './reports.js';

const PAGE = 20000; // tiles per request of the snapshot
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10000;
const REGIONS_EVERY_MS = 60000;
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
window.hbDashboard = dash;

let net = new Network();
let view;
let stream;
let feed;
let detail;
let campaigns;
let reports;
const pendingTiles = new Map();
const pendingRegions = [];
let framePending = false;
let loading = false;

function setConn(state, text) {
  const c = $('conn-state');
  c.dataset.state = state;
  const label = {live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…',
    reloading: 'reloading…', error: 'head office unreachable'}[state] || state;
  c.textContent = text ? `${label} — ${text}` : label;
}

// ---- the snapshot

// Which server the snapshot came from: read before it, so that a restart
// between the two is taken for one afterwards, never missed.
let serverStarted = null;

async function sameServer() {
  const r = await getJSON('/v1/status');
  if (r.status !== 200 || !r.body) return null;
  return r.body.started === serverStarted;
}

async function loadSnapshot() {
  const status = await getJSON('/v1/status');
  if (status.status !== 200 || !status.body) {
    throw new Error(`GET /v1/status answered ${status.status || 'nothing'}`);
  }
  serverStarted = status.body.started;
  const regionsP = getJSON('/v1/regions');
  const tiles = [];
  let streamId = null;
  let offset = 0;
  let total = 1;
  let requests = 2;
  while (offset < total) {
    const r = await getJSON(`/v1/live/halls?offset=${offset}&limit=${PAGE}`);
    requests++;
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.halls)) {
      throw new Error(`GET /v1/live/halls answered ${r.status || 'nothing'}`);
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
  for (;;) {
    try {
      const snap = await loadSnapshot();
      if (first) {
        performance.mark('hb:data-loaded');
        dash.timing.requests = snap.requests;
      }
      pendingTiles.clear();
      pendingRegions.length = 0;
      net = new Network();
      net.setRegions(snap.regions);
      for (const t of snap.tiles) net.applyTile(t);
      net.applyRegions(snap.aggregates);
      net.recompute();
      view.net = net;
      detail.setNetwork(net);
      view.build();
      paintSummary();
      if (first) markFirstRender(snap.tiles.length);
      else dash.stats.reloads++;
      stream.open(snap.streamId || 0);
      if (!first) {
        // Alerts raised or cleared in the gap are in no snapshot of tiles.
        feed.clearAll();
        feed.load();
      }
      if (detail.hall) detail.refresh(true);
      break;
    } catch (e) {
      setConn('error', `${e.message}; retrying`);
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
  }, 0));
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
  if (detail.hall && (ids.includes(detail.hall) || alertsChanged)) detail.changed(detail.hall);
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
  $('sum-online').textContent = fmtNumber(a.online);
  $('sum-waiting').textContent = fmtNumber(a.waiting);
  $('sum-alerts').textContent = fmtNumber(a.alerts);
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
    ['tab-reports', 'view-reports']];
  for (const [tab, panel] of tabs) {
    $(tab).addEventListener('click', () => {
      for (const [t, p] of tabs) {
        $(t).setAttribute('aria-selected', t === tab ? 'true' : 'false');
        $(p).hidden = t !== tab;
      }
      if (tab === 'tab-calendar') {
        campaigns.loadRollout();
        campaigns.loadCampaigns();
      }
      if (tab === 'tab-reports') reports.show();
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
      note.textContent = q.trim() ? `no hall matches “${q.trim()}”` : '';
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
  detail.open(id);
}

function boot() {
  performance.mark('hb:boot');
  view = new NetworkView($('network'), net, {onOpenHall: openHall});
  feed = new AlertFeed($('alert-feed'), $('alerts-open-count'), {onOpenHall: openHall});
  campaigns = new Campaigns($('rollout'), $('calendar'), null);
  reports = new Reports($('reports'), () => net);
  dash.reports = reports; // the answers it shows, for tests
  detail = new HallDetail($('hall-detail'), $('hall-detail-body'), $('hall-detail-close'), {
    net, alerts: feed, published: () => campaigns.published(),
    onClose: () => {
      for (const t of document.querySelectorAll('.tile.selected')) t.classList.remove('selected');
    },
  });
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
    if (e.key === 'Escape') detail.close();
  });

  load(true);
  feed.load();
  campaigns.loadRollout();
  campaigns.loadCampaigns();

  setInterval(() => {
    view.tickWaits();
    detail.tick();
    paintLongest();
  }, 1000);
  setInterval(async () => {
    const r = await getJSON('/v1/regions');
    if (r.status === 200 && r.body && Array.isArray(r.body.regions)) {
      net.setRegions(r.body.regions);
      view.paintAll();
    }
  }, REGIONS_EVERY_MS);
  setInterval(() => campaigns.loadCampaigns(), CAMPAIGNS_EVERY_MS);
  let lastRollout = 0;
  setInterval(() => {
    const every = $('view-calendar').hidden ? ROLLOUT_HIDDEN_MS : ROLLOUT_SHOWN_MS;
    if (Date.now() - lastRollout >= every) {
      lastRollout = Date.now();
      campaigns.loadRollout();
    }
  }, 1000);
}

boot();
