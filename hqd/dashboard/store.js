// The network as the page knows it: every hall's latest tile, placed in its
// city and province, and the aggregates of each (halls per worst state,
// waiting, longest wait, alerts) as the head office sends them. The page
// computes no aggregate: hqd's board keeps them (GET /v1/regions for the
// snapshot, a "regions" event on the stream for each round that changed
// some), so the figures on a header are the same as anywhere else. Tiles
// and aggregates are applied as they arrive; the cities and provinces a
// change touched are marked, so a busy stream costs work in proportion to
// what changed, not to the size of the network. Drawing is network.js.
//
// A person who sees part of the network (a city's operator) gets the
// aggregates of the regions in their scope only, and no network total:
// then (`scoped`) the header shows the sum of the aggregates of the top
// regions they see, and a province they see part of the sum of its cities
// they see. Those are sums of hqd's aggregates, never figures from tiles.

import {WORST, worstIndex} from './util.js';

export const UNPLACED = '~unplaced';

function emptyAgg() {
  return {
    halls: 0, online: 0, open: 0, waiting: 0, alerts: 0, countersOpen: 0,
    complaintsOverdue: 0, devicesNotOk: 0, servedToday: 0,
    oldestMs: 0, // the oldest waiting ticket's issue time, 0 for none
    worst: 0, byWorst: [0, 0, 0, 0, 0],
  };
}

// One aggregate as hqd writes it, in the page's shape.
function fromServer(a) {
  if (!a) return emptyAgg();
  const ms = a.oldest_issued ? Date.parse(a.oldest_issued) : 0;
  const by = a.by_worst || {};
  return {
    halls: a.halls | 0, online: a.online | 0, open: a.open | 0, waiting: a.waiting | 0,
    alerts: a.alerts | 0, countersOpen: a.counters_open | 0,
    complaintsOverdue: a.complaints_overdue | 0, devicesNotOk: a.devices_not_ok | 0,
    servedToday: a.served_today | 0, oldestMs: Number.isNaN(ms) ? 0 : ms,
    worst: worstIndex(a.worst || 'ok'), byWorst: WORST.map((w) => by[w] | 0),
  };
}

// The sum of aggregates hqd sent (a scoped person's header and provinces).
function combine(list) {
  const t = emptyAgg();
  for (const a of list) {
    for (const k of ['halls', 'online', 'open', 'waiting', 'alerts', 'countersOpen',
      'complaintsOverdue', 'devicesNotOk', 'servedToday']) t[k] += a[k];
    if (a.oldestMs && (!t.oldestMs || a.oldestMs < t.oldestMs)) t.oldestMs = a.oldestMs;
    if (a.halls && a.worst > t.worst) t.worst = a.worst;
    for (let i = 0; i < t.byWorst.length; i++) t.byWorst[i] += a.byWorst[i];
  }
  return t;
}

const byKey = (a, b) => (a === UNPLACED ? 1 : b === UNPLACED ? -1 : a < b ? -1 : a > b ? 1 : 0);

export class Network {
  constructor() {
    this.regions = new Map(); // id -> {id, name, level, parent}
    this.halls = new Map(); // id -> {id, tile, oldestMs, city}
    this.cities = new Map(); // key -> {key, name, province, halls: [ids sorted], version, agg}
    this.provinces = new Map(); // key -> {key, name, cities: [keys sorted], agg}
    this.aggs = new Map(); // region id -> aggregate, as hqd sent it
    this.unplacedAgg = emptyAgg();
    this.totals = emptyAgg();
    this.dirtyCities = new Set();
    this.dirtyProvinces = new Set();
    this.totalsDirty = true;
    this.scoped = false; // hqd sends no network total: the person sees part of it
    this.structureVersion = 0; // moves when a hall, city or province appears or a hall moves
  }

  // Region names and the tree (GET /v1/regions; polled for names).
  setRegions(list) {
    this.regions.clear();
    for (const r of list || []) this.regions.set(r.region || r.id, {
      id: r.region || r.id, name: r.name || '', level: r.level, parent: r.parent || null,
    });
    for (const c of this.cities.values()) c.name = this.regionName(c.key, 'city');
    for (const p of this.provinces.values()) p.name = this.regionName(p.key);
  }

  // Aggregates from hqd: the snapshot's GET /v1/regions answer, or a
  // "regions" event of the stream (the regions that changed, the unplaced
  // halls and the whole network). Each replaces what the page held.
  applyRegions(body) {
    if (!body) return;
    for (const r of body.regions || []) {
      if (!r || typeof r.region !== 'string') continue;
      this.aggs.set(r.region, fromServer(r));
      if (this.cities.has(r.region)) {
        this.dirtyCities.add(r.region);
        if (this.scoped) this.dirtyProvinces.add(this.cities.get(r.region).province);
      }
      if (this.provinces.has(r.region)) this.dirtyProvinces.add(r.region);
    }
    if (body.unplaced) {
      this.unplacedAgg = fromServer(body.unplaced);
      if (this.cities.has(UNPLACED)) this.dirtyCities.add(UNPLACED);
      if (this.provinces.has(UNPLACED)) this.dirtyProvinces.add(UNPLACED);
    }
    if (body.total) {
      this.totals = fromServer(body.total);
      this.totalsDirty = true;
    } else if (this.scoped) {
      this.totals = combine(this._topAggs());
      this.totalsDirty = true;
    }
  }

  // The aggregates of the regions seen whose parent is not seen.
  _topAggs() {
    const out = [];
    for (const [id, a] of this.aggs) {
      const r = this.regions.get(id);
      if (!r || !r.parent || !this.aggs.has(r.parent)) out.push(a);
    }
    return out;
  }

  aggOf(key) {
    if (key === UNPLACED) return this.unplacedAgg;
    const a = this.aggs.get(key);
    if (a) return a;
    const p = this.scoped ? this.provinces.get(key) : null;
    if (p) return combine(p.cities.map((c) => this.aggs.get(c)).filter(Boolean));
    return emptyAgg();
  }

  regionName(key, level) {
    if (key === UNPLACED) return level === 'city' ? 'Halls without a city' : 'Not placed in a region';
    const r = this.regions.get(key);
    return r && r.name ? r.name : key;
  }

  _province(key) {
    let p = this.provinces.get(key);
    if (!p) {
      p = {key, name: this.regionName(key), cities: [], agg: this.aggOf(key)};
      this.provinces.set(key, p);
      this.dirtyProvinces.add(key);
      this.structureVersion++;
    }
    return p;
  }

  _city(key, provinceKey) {
    let c = this.cities.get(key);
    if (!c) {
      c = {key, name: this.regionName(key, 'city'), province: provinceKey, halls: [], version: 0,
        agg: this.aggOf(key)};
      this.cities.set(key, c);
      this.dirtyCities.add(key);
      const p = this._province(provinceKey);
      p.cities.push(key);
      p.cities.sort(byKey);
      this.dirtyProvinces.add(provinceKey);
      this.structureVersion++;
    }
    return c;
  }

  // Where a tile says its hall sits. A hall of a city whose province the
  // tile does not name (it should) goes by the region tree, then unplaced.
  _placeOf(t) {
    if (!t.city) return {city: UNPLACED, province: UNPLACED};
    let prov = t.province;
    if (!prov) {
      const r = this.regions.get(t.city);
      prov = r && r.parent ? r.parent : UNPLACED;
    }
    return {city: t.city, province: prov};
  }

  // Applies one tile; returns {hall, created, moved, from} so the view
  // knows whether only the tile or also the structure changed.
  applyTile(t) {
    if (!t || typeof t.hall !== 'string') return null;
    const place = this._placeOf(t);
    let h = this.halls.get(t.hall);
    const created = !h;
    let moved = false;
    let from = null;
    if (!h) {
      h = {id: t.hall, tile: t, oldestMs: 0, city: place.city};
      this.halls.set(t.hall, h);
      const c = this._city(place.city, place.province);
      const i = sortedIndex(c.halls, t.hall);
      c.halls.splice(i, 0, t.hall);
      c.version++;
      this.structureVersion++;
    } else if (h.city !== place.city) {
      from = h.city;
      const old = this.cities.get(h.city);
      if (old) {
        const i = old.halls.indexOf(t.hall);
        if (i >= 0) old.halls.splice(i, 1);
        old.version++;
        this.dirtyCities.add(old.key);
        this.dirtyProvinces.add(old.province);
      }
      const c = this._city(place.city, place.province);
      c.halls.splice(sortedIndex(c.halls, t.hall), 0, t.hall);
      c.version++;
      h.city = place.city;
      moved = true;
      this.structureVersion++;
    }
    h.tile = t;
    const ms = t.oldest_issued ? Date.parse(t.oldest_issued) : 0;
    h.oldestMs = Number.isNaN(ms) ? 0 : ms;
    return {hall: h, created, moved, from};
  }

  // Takes up the aggregates hqd sent for what was marked; returns the
  // changed cities and provinces (keys) for the view to redraw their
  // headers, and whether the network's totals changed.
  recompute() {
    const cities = [...this.dirtyCities];
    const provinces = [...this.dirtyProvinces];
    this.dirtyCities.clear();
    this.dirtyProvinces.clear();
    for (const key of cities) {
      const c = this.cities.get(key);
      if (c) c.agg = this.aggOf(key);
    }
    for (const key of provinces) {
      const p = this.provinces.get(key);
      if (p) p.agg = this.aggOf(key);
    }
    const totals = this.totalsDirty;
    this.totalsDirty = false;
    return {cities, provinces, totals};
  }

  sortedProvinces() {
    return [...this.provinces.keys()].sort(byKey);
  }

  // Finds a hall by exact id (any case), else by the start of its id, else
  // by a part of its name.
  find(text) {
    const q = text.trim().toLowerCase();
    if (!q) return null;
    for (const id of this.halls.keys()) if (id.toLowerCase() === q) return id;
    for (const id of this.halls.keys()) if (id.toLowerCase().startsWith(q)) return id;
    for (const h of this.halls.values()) {
      if (h.tile.name && h.tile.name.toLowerCase().includes(q)) return h.id;
    }
    return null;
  }
}

function sortedIndex(arr, v) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
