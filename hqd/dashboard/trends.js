// The network view's "worst halls now": the halls whose longest-waiting
// customer has waited longest, from the tiles hqd sent (each tile carries
// its oldest waiting ticket's issue time), redrawn once a second with the
// waits. A click opens the hall. Only ordering is done here; every figure
// is a tile's. Not here: the per-15-minute charts against the typical day
// (not built yet; docs/DASHBOARD.md).

import {el, clear, fmtDuration, fmtNumber, secondsSince, worstLabel} from './util.js';
import {t} from './i18n.js';

const WORST_SHOWN = 5;

export class Trends {
  constructor(root, {onOpenHall}) {
    this.root = root;
    this.net = null;
    this.list = el('ol', {class: 'worst-halls', id: 'worst-halls'});
    this.note = el('p', {class: 'note'});
    root.append(el('h3', {text: t('trend.worstNow')}), this.note, this.list);
    this.list.addEventListener('click', (e) => {
      const b = e.target.closest('[data-open-hall]');
      if (b) onOpenHall(b.dataset.openHall);
    });
  }

  setNetwork(net) {
    this.net = net;
    this.root.hidden = false;
    this.tick();
  }

  // Once a second: the halls ranked again by their longest wait now.
  tick() {
    if (!this.net || this.root.hidden) return;
    const ranked = [];
    for (const h of this.net.halls.values()) if (h.oldestMs) ranked.push(h);
    ranked.sort((a, b) => a.oldestMs - b.oldestMs || (a.id < b.id ? -1 : 1));
    const top = ranked.slice(0, WORST_SHOWN);
    const key = top.map((h) => `${h.id}:${h.oldestMs}:${h.tile.waiting}:${h.tile.worst}`).join('|');
    this.note.textContent = top.length ? '' : t('trend.nobodyWaits');
    if (key === this.key) {
      for (const s of this.list.querySelectorAll('[data-since]')) {
        s.textContent = fmtDuration(secondsSince(Number(s.dataset.since)));
      }
      return;
    }
    this.key = key;
    clear(this.list);
    for (const h of top) {
      this.list.append(el('li', {data: {hall: h.id, worst: h.tile.worst || ''}},
        el('button', {type: 'button', class: 'a-hall', data: {openHall: h.id}, text: h.id,
          'aria-label': t('alert.openHall', {hall: h.id})}),
        h.tile.name ? el('span', {class: 'hname', text: h.tile.name}) : null,
        el('span', {class: `badge w-${h.tile.worst || 'offline'}`, text: worstLabel(h.tile.worst)}),
        el('span', {text: t('trend.waitingLongest', {n: fmtNumber(h.tile.waiting | 0)})}),
        el('b', {data: {since: String(h.oldestMs)}, text: fmtDuration(secondsSince(h.oldestMs))})));
    }
  }
}
