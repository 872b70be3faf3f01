// The network as the page knows it: every hall's latest tile, placed in its
// city and province, and the aggregates of each (halls per worst state,
// waiting, longest wait, alerts). Tiles are applied one by one as they
// arrive; aggregates are recomputed only for the cities and provinces a
// change touched, once per frame, so a busy stream costs work in proportion
// to what changed, not to the size of the network. Drawing is network.js.

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

function addTile(a, t, oldestMs) {
  a.halls++;
  if (t.online) a.online++;
  if (t.open) a.open++;
  a.waiting += t.waiting | 0;
  a.alerts += t.alerts | 0;
  a.countersOpen += t.counters_open | 0;
  a.complaintsOverdue += t.complaints_overdue | 0;
  a.devicesNotOk += t.devices_not_ok | 0;
  a.servedToday += t.served_today | 0;
  if (oldestMs && (!a.oldestMs || oldestMs < a.oldestMs)) a.oldestMs = oldestMs;
  const w = worstIndex(t.worst);
  a.byWorst[w]++;
  if (w > a.worst) a.worst = w;
}

function addAgg(a, b) {
  a.halls += b.halls;
  a.online += b.online;
  a.open += b.open;
  a.waiting += b.waiting;
  a.alerts += b.alerts;
  a.countersOpen += b.countersOpen;
  a.complaintsOverdue += b.complaintsOverdue;
  a.devicesNotOk += b.devicesNotOk;
  a.servedToday += b.servedToday;
  if (b.oldestMs && (!a.oldestMs || b.oldestMs < a.oldestMs)) a.oldestMs = b.oldestMs;
  for (let i = 0; i < WORST.length; i++) a.byWorst[i] += b.byWorst[i];
  if (b.halls && b.worst > a.worst) a.worst = b.worst;
}

const byKey = (a, b) => (a === UNPLACED ? 1 : b === UNPLACED ? -1 : a < b ? -1 : a > b ? 1 : 0);

export class Network {
  constructor() {
    this.regions = new Map(); // id -> {id, name, level, parent}
    this.halls = new Map(); // id -> {id, tile, oldestMs, city}
    this.cities = new Map(); // key -> {key, name, province, halls: [ids sorted], version, agg}
    this.provinces = new Map(); // key -> {key, name, cities: [keys sorted], agg}
    this.totals = emptyAgg();
    this.dirtyCities = new Set();
    this.dirtyProvinces = new Set();
    this.totalsDirty = true;
    this.structureVersion = 0; // moves when a hall, city or province appears or a hall moves
  }

  setRegions(list) {
    this.regions.clear();
    for (const r of list || []) this.regions.set(r.region || r.id, {
      id: r.region || r.id, name: r.name || '', level: r.level, parent: r.parent || null,
    });
    for (const c of this.cities.values()) c.name = this.regionName(c.key, 'city');
    for (const p of this.provinces.values()) p.name = this.regionName(p.key);
  }

  regionName(key, level) {
    if (key === UNPLACED) return level === 'city' ? 'Halls without a city' : 'Not placed in a region';
    const r = this.regions.get(key);
    return r && r.name ? r.name : key;
  }

  _province(key) {
    let p = this.provinces.get(key);
    if (!p) {
      p = {key, name: this.regionName(key), cities: [], agg: emptyAgg()};
      this.provinces.set(key, p);
      this.dirtyProvinces.add(key);
      this.structureVersion++;
    }
    return p;
  }

  _city(key, provinceKey) {
    let c = this.cities.get(key);
    if (!c) {
      c = {key, name: this.regionName(key, 'city'), province: provinceKey, halls: [], version: 0, agg: emptyAgg()};
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
    const c = this.cities.get(h.city);
    this.dirtyCities.add(c.key);
    this.dirtyProvinces.add(c.province);
    this.totalsDirty = true;
    return {hall: h, created, moved, from};
  }

  // Recomputes what applyTile marked; returns the changed cities and
  // provinces (keys) for the view to redraw their headers.
  recompute() {
    const cities = [...this.dirtyCities];
    const provinces = [...this.dirtyProvinces];
    this.dirtyCities.clear();
    this.dirtyProvinces.clear();
    for (const key of cities) {
      const c = this.cities.get(key);
      const a = emptyAgg();
      for (const id of c.halls) {
        const h = this.halls.get(id);
        addTile(a, h.tile, h.oldestMs);
      }
      c.agg = a;
    }
    for (const key of provinces) {
      const p = this.provinces.get(key);
      const a = emptyAgg();
      for (const k of p.cities) addAgg(a, this.cities.get(k).agg);
      p.agg = a;
    }
    if (this.totalsDirty) {
      this.totalsDirty = false;
      const a = emptyAgg();
      for (const p of this.provinces.values()) addAgg(a, p.agg);
      this.totals = a;
    }
    return {cities, provinces};
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
