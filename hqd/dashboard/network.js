// The network view: provinces, their cities, and a compact grid of hall
// tiles in each city, coloured by the hall's worst state. Built to stay
// quick with tens of thousands of halls:
//  - a province's cities and tiles exist in the page only while it is
//    expanded; a large network opens with every province collapsed to its
//    aggregate (a bar of halls per state and its figures);
//  - changes are drawn once per frame by flush(), touching only the tiles
//    that changed and the headers of their city and province;
//  - cities off screen are skipped by the browser's layout and paint
//    (content-visibility in style.css), and on the page's first load only
//    the provinces that can fill the screen are built before it is painted:
//    the others are filled after, a few per task (fillDeferred);
//  - one listener on the whole view handles every tile's clicks and hovers.

import {WORST, worstLabel, el, clear, fmtDuration, fmtNumber, secondsSince} from './util.js';
import {t} from './i18n.js';

const tr = t; // where `t` is a tile
import {UNPLACED} from './store.js';

// Up to this many halls the view opens fully expanded, with roomy tiles that
// show the hall's id and waiting count; beyond, provinces start collapsed and
// tiles are small squares (the count is in the tooltip and the detail).
export const EXPAND_ALL_MAX = 3000;
export const ROOMY_MAX = 2000;
// No city is drawn lower than this (its header and one row of tiles), so
// the screen's height over it is as many cities as can be on screen.
const CITY_MIN_PX = 40;
// A task of fillDeferred() stops after this long, so that the page stays
// responsive while the rest is built.
const FILL_SLICE_MS = 12;

function bar() {
  const b = el('span', {class: 'bar', role: 'img'});
  for (const w of WORST) b.append(el('span', {class: `seg w-${w}`}));
  return b;
}

function paintBar(b, agg) {
  const label = t('net.barLabel', {counts: countsText(agg) || t('net.none')});
  if (b.getAttribute('aria-label') !== label) b.setAttribute('aria-label', label);
  for (let i = 0; i < WORST.length; i++) {
    const seg = b.children[i];
    const n = agg.byWorst[i];
    const v = String(n);
    if (seg.dataset.n !== v) {
      seg.dataset.n = v;
      seg.style.flexGrow = v;
      seg.hidden = n === 0;
    }
  }
}

function countsText(agg) {
  const parts = [];
  for (let i = WORST.length - 1; i >= 0; i--) {
    if (agg.byWorst[i]) parts.push(t('net.countOf', {n: fmtNumber(agg.byWorst[i]), state: worstLabel(WORST[i])}));
  }
  return parts.join(t('app.listSep'));
}


function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export class NetworkView {
  constructor(root, net, {onOpenHall}) {
    this.root = root;
    this.net = net;
    this.onOpenHall = onOpenHall;
    this.provEls = new Map(); // province key -> {section, head, body, bar, figs, longest, expanded}
    this.cityEls = new Map(); // city key -> {div, bar, figs, longest, grid, version}
    this.tileEls = new Map(); // hall id -> button
    this.expanded = new Set();
    this.deferred = new Set(); // provinces to fill after the first paint
    this.seenStructure = -1;
    this.roomy = true;
    root.addEventListener('click', (e) => this._onClick(e));
    root.addEventListener('pointerover', (e) => this._onHover(e));
    root.addEventListener('focusin', (e) => this._onHover(e));
  }

  // Draws the whole view from the store (first load and after a reset).
  // `screenFirst`: only the provinces whose cities can fill the screen are
  // filled now; the others' headers are there, collapsed, until
  // fillDeferred() (or the person) expands them.
  build(screenFirst = false) {
    clear(this.root);
    this.provEls.clear();
    this.cityEls.clear();
    this.tileEls.clear();
    const n = this.net.halls.size;
    this.roomy = n <= ROOMY_MAX;
    this.root.classList.toggle('roomy', this.roomy);
    this.root.classList.toggle('dense', !this.roomy);
    this.expanded = new Set();
    this.deferred = new Set();
    if (n <= EXPAND_ALL_MAX) {
      const screenCities = Math.max(10, Math.ceil(window.innerHeight / CITY_MIN_PX));
      let cities = 0;
      for (const key of this.net.sortedProvinces()) {
        if (!screenFirst || cities < screenCities) this.expanded.add(key);
        else this.deferred.add(key);
        cities += this.net.provinces.get(key).cities.length;
      }
    }
    if (n === 0) {
      this.root.append(el('p', {class: 'note', id: 'network-note',
        text: t('net.empty')}));
    }
    this._syncStructure();
    // Cities and tiles were painted as they were made: only the provinces'
    // headers are left (painting all again would write every tile twice).
    for (const [key, p] of this.provEls) this._paintProvince(key, p);
    this.root.setAttribute('aria-busy', 'false');
  }

  // Halls whose tiles changed, and the cities and provinces recomputed.
  flush(hallIds, changed) {
    if (this.net.structureVersion !== this.seenStructure) this._syncStructure();
    for (const id of hallIds) {
      const b = this.tileEls.get(id);
      if (b) this._paintTile(b, this.net.halls.get(id));
    }
    for (const key of changed.cities) {
      const c = this.cityEls.get(key);
      if (c) this._paintCity(key, c);
    }
    for (const key of changed.provinces) {
      const p = this.provEls.get(key);
      if (p) this._paintProvince(key, p);
    }
  }

  paintAll() {
    for (const [key, p] of this.provEls) this._paintProvince(key, p);
    for (const [key, c] of this.cityEls) this._paintCity(key, c);
    for (const [id, b] of this.tileEls) this._paintTile(b, this.net.halls.get(id));
  }

  // Waits grow by themselves: once a second the headers' longest waits.
  tickWaits() {
    for (const [key, p] of this.provEls) {
      setText(p.longest, this._longest(this.net.provinces.get(key).agg));
    }
    for (const [key, c] of this.cityEls) {
      setText(c.longest, this._longest(this.net.cities.get(key).agg));
    }
  }

  setFilter(worst) {
    if (worst) this.root.dataset.only = worst;
    else delete this.root.dataset.only;
  }

  expand(key) {
    const p = this.provEls.get(key);
    if (!p || this.expanded.has(key)) return;
    this.expanded.add(key);
    this._fillProvince(key, p);
  }

  collapse(key) {
    this.deferred.delete(key); // the person's choice wins
    const p = this.provEls.get(key);
    if (!p || !this.expanded.has(key)) return;
    this.expanded.delete(key);
    this._emptyProvince(key, p);
  }

  expandAll() {
    for (const key of this.net.sortedProvinces()) this.expand(key);
  }

  collapseAll() {
    this.deferred.clear();
    for (const key of [...this.expanded]) this.collapse(key);
  }

  // Fills the provinces build(true) left for after the first paint, in
  // tasks of about FILL_SLICE_MS; they are below the screen, so nothing a
  // person sees moves. A province expanded or collapsed meanwhile is left
  // as the person made it.
  fillDeferred() {
    const step = () => {
      const t0 = performance.now();
      for (const key of this.deferred) {
        this.deferred.delete(key);
        this.expand(key);
        if (performance.now() - t0 > FILL_SLICE_MS) {
          setTimeout(step, 0);
          return;
        }
      }
    };
    step();
  }

  // Expands the hall's province, scrolls to its tile and focuses it.
  reveal(id) {
    const h = this.net.halls.get(id);
    if (!h) return false;
    const c = this.net.cities.get(h.city);
    this.expand(c.province);
    const b = this.tileEls.get(id);
    if (!b) return false;
    b.scrollIntoView({block: 'center'});
    b.focus({preventScroll: true});
    return true;
  }

  // ---- structure

  _syncStructure() {
    this.seenStructure = this.net.structureVersion;
    const keys = this.net.sortedProvinces();
    let prev = null;
    for (const key of keys) {
      let p = this.provEls.get(key);
      if (!p) {
        p = this._makeProvince(key);
        this.provEls.set(key, p);
        if (this.net.halls.size <= EXPAND_ALL_MAX && !this.deferred.has(key)) this.expanded.add(key);
        const note = this.root.querySelector('#network-note');
        if (note) note.remove();
      }
      // Keep the sections in order with as few moves as possible.
      const want = prev ? prev.nextSibling : this.root.firstChild;
      if (want !== p.section) this.root.insertBefore(p.section, want);
      prev = p.section;
      if (this.expanded.has(key)) this._fillProvince(key, p);
    }
  }

  _makeProvince(key) {
    const bodyId = `prov-${cssId(key)}`;
    const head = el('button', {type: 'button', class: 'prov-head', 'aria-expanded': 'false',
      'aria-controls': bodyId, data: {region: key}});
    const name = el('span', {class: 'name'});
    const rid = el('span', {class: 'rid', text: key === UNPLACED ? '' : key});
    const b = bar();
    const figs = el('span', {class: 'figs'});
    const longest = el('span', {class: 'longest'});
    head.append(name, rid, b, figs, longest);
    const body = el('div', {class: 'cities', id: bodyId});
    const section = el('section', {class: 'province', data: {region: key}},
      el('h3', null, head), body);
    return {section, head, name, body, bar: b, figs, longest};
  }

  _fillProvince(key, p) {
    p.head.setAttribute('aria-expanded', 'true');
    p.section.classList.add('open');
    const prov = this.net.provinces.get(key);
    let prev = null;
    for (const ck of prov.cities) {
      let c = this.cityEls.get(ck);
      if (!c) {
        c = this._makeCity(ck);
        this.cityEls.set(ck, c);
        this._paintCity(ck, c);
      }
      const want = prev ? prev.nextSibling : p.body.firstChild;
      if (want !== c.div) p.body.insertBefore(c.div, want);
      prev = c.div;
      const city = this.net.cities.get(ck);
      if (c.version !== city.version) this._fillCity(ck, c, city);
    }
  }

  _emptyProvince(key, p) {
    p.head.setAttribute('aria-expanded', 'false');
    p.section.classList.remove('open');
    for (const ck of this.net.provinces.get(key).cities) {
      const city = this.net.cities.get(ck);
      for (const id of city.halls) this.tileEls.delete(id);
      this.cityEls.delete(ck);
    }
    clear(p.body);
  }

  _makeCity(key) {
    const b = bar();
    const figs = el('span', {class: 'figs'});
    const longest = el('span', {class: 'longest'});
    const name = el('span', {class: 'name'});
    const grid = el('div', {class: 'tiles', role: 'group', 'aria-label': t('net.hallsOf', {city: this.net.regionName(key, 'city')})});
    const div = el('div', {class: 'city', data: {region: key}},
      el('h4', {class: 'city-head'}, name,
        el('span', {class: 'rid', text: key === UNPLACED ? '' : key}), b, figs, longest),
      grid);
    return {div, name, bar: b, figs, longest, grid, version: -1};
  }

  _fillCity(key, c, city) {
    c.version = city.version;
    for (const b of c.grid.children) {
      if (this.tileEls.get(b.dataset.hall) === b) this.tileEls.delete(b.dataset.hall);
    }
    const frag = document.createDocumentFragment();
    for (const id of city.halls) {
      const b = this._makeTile(id);
      this._paintTile(b, this.net.halls.get(id));
      this.tileEls.set(id, b);
      frag.append(b);
    }
    clear(c.grid);
    c.grid.append(frag);
  }

  _makeTile(id) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tile';
    b.dataset.hall = id;
    if (this.roomy) {
      b.append(el('span', {class: 'tid', text: id}), el('span', {class: 'tw'}));
    }
    return b;
  }

  // ---- painting

  _paintTile(b, h) {
    const t = h.tile;
    const worst = WORST.includes(t.worst) ? t.worst : 'offline';
    if (b.dataset.worst !== worst) {
      b.dataset.worst = worst;
      b.className = `tile w-${worst}`;
    }
    const waiting = String(t.waiting | 0);
    if (b.dataset.waiting !== waiting) {
      b.dataset.waiting = waiting;
      if (this.roomy && b.lastChild) b.lastChild.textContent = waiting === '0' ? '' : waiting;
    }
    const alerts = String(t.alerts | 0);
    if (b.dataset.alerts !== alerts) b.dataset.alerts = alerts;
    const label = (t.alerts ? tr('net.tileAlerts', {hall: t.name ? `${h.id} ${t.name}` : h.id,
      state: worstLabel(worst), waiting, n: t.alerts})
      : tr('net.tileLabel', {hall: t.name ? `${h.id} ${t.name}` : h.id, state: worstLabel(worst), n: waiting}));
    if (b.getAttribute('aria-label') !== label) b.setAttribute('aria-label', label);
  }

  _paintCity(key, c) {
    const city = this.net.cities.get(key);
    setText(c.name, city.name);
    paintBar(c.bar, city.agg);
    setText(c.figs, this._figs(city.agg));
    setText(c.longest, this._longest(city.agg));
  }

  _paintProvince(key, p) {
    const prov = this.net.provinces.get(key);
    setText(p.name, prov.name);
    paintBar(p.bar, prov.agg);
    const a = prov.agg;
    setText(p.figs, `${t('net.hallsInCities', {halls: t('net.halls', {n: a.halls}), cities: t('net.cities', {n: prov.cities.length})})}` +
      ` · ${this._figs(a)}`);
    setText(p.longest, this._longest(a));
    p.section.dataset.worst = WORST[a.worst];
  }

  _figs(a) {
    return t('net.waiting', {n: fmtNumber(a.waiting)}) +
      (a.alerts ? ` · ${t('net.openAlerts', {n: a.alerts})}` : '') +
      (a.halls && a.online < a.halls ? ` · ${t('net.offline', {n: fmtNumber(a.halls - a.online)})}` : '');
  }

  _longest(a) {
    return a.oldestMs ? t('net.longest', {time: fmtDuration(secondsSince(a.oldestMs))}) : '';
  }

  // ---- events

  _onClick(e) {
    const tile = e.target.closest('.tile');
    if (tile && this.root.contains(tile)) {
      this.onOpenHall(tile.dataset.hall);
      return;
    }
    const head = e.target.closest('.prov-head');
    if (head) {
      const key = head.dataset.region;
      if (this.expanded.has(key)) this.collapse(key);
      else this.expand(key);
    }
  }

  // The tooltip is written when the pointer or focus arrives, so that the
  // wait it shows is current and ten thousand tiles keep no title text.
  _onHover(e) {
    const tile = e.target.closest && e.target.closest('.tile');
    if (!tile) return;
    const h = this.net.halls.get(tile.dataset.hall);
    if (!h) return;
    const x = h.tile;
    const wait = h.oldestMs ? fmtDuration(secondsSince(h.oldestMs)) : t('net.nobodyWaits');
    tile.title = [`${h.id}${x.name ? ` — ${x.name}` : ''}`,
      `${worstLabel(x.worst)}${x.online ? '' : t('net.notConnected')}${x.open ? t('net.openNow') : t('net.closedNow')}`,
      t('net.tipWaiting', {n: fmtNumber(x.waiting | 0), time: wait}),
      t('net.tipCounters', {busy: x.counters_busy | 0, open: x.counters_open | 0, served: fmtNumber(x.served_today | 0)}),
      t('net.tipAlerts', {alerts: x.alerts | 0, complaints: x.complaints_overdue | 0, devices: x.devices_not_ok | 0}),
    ].join('\n');
  }
}

// Region ids are [A-Za-z0-9_-]-like, but an id attribute must not depend on it.
function cssId(key) {
  return key.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}
