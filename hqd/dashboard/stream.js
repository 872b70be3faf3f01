// The head office's change stream (GET /v1/stream, Server-Sent Events),
// resumed without loss: it is opened with ?since= the snapshot's stream_id,
// and after any break it is reopened here with ?since= the last event id
// seen. The browser's own reconnect is not used, because it would repeat
// the first URL, and hqd takes ?since over the Last-Event-ID header the
// browser adds: every reconnect would replay from the snapshot again, and
// after a long day be told to reset.
//
// Event ids start again at 1 when hqd restarts, and a resume across a
// restart would then silently miss the new server's first changes. So
// before reopening, the server's start time (GET /v1/me "server_started") is
// compared with the one read before the snapshot; a different one means
// a new server, and the snapshot is loaded again instead.

import {fmtDuration, t} from './i18n.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

export class Stream {
  // handlers: {onTile(tile), onRegions(aggregates), onAlert(alert), onReset(), onState(state, detail),
  //   sameServer() -> Promise of true, false (restarted) or null (unreachable)}
  constructor(handlers) {
    this.h = handlers;
    this.es = null;
    this.lastId = 0;
    this.backoff = BACKOFF_MIN_MS;
    this.timer = 0;
    this.events = 0;
    this.reconnects = 0;
    this.lastEventAt = 0;
  }

  open(since) {
    this.close();
    this.lastId = since;
    this._connect();
  }

  close() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  _connect() {
    const es = new EventSource(`/v1/stream?since=${encodeURIComponent(this.lastId)}`);
    this.es = es;
    this.h.onState('connecting', t('conn.resuming', {id: this.lastId}));
    const seen = (e) => {
      const id = Number(e.lastEventId);
      if (Number.isFinite(id) && id > this.lastId) this.lastId = id;
      this.events++;
      this.lastEventAt = Date.now();
    };
    es.addEventListener('hello', (e) => {
      this.backoff = BACKOFF_MIN_MS;
      let last = null;
      try {
        last = JSON.parse(e.data).last_id;
      } catch (err) {
        last = null;
      }
      // Event ids start again at 1 when hqd restarts: a server whose newest
      // id is below ours cannot replay what we missed, and says nothing of
      // it, so the snapshot is loaded again.
      if (typeof last === 'number' && last < this.lastId) {
        this.close();
        this.h.onState('reloading', t('conn.restarted'));
        this.h.onReset();
        return;
      }
      this.h.onState('live', '');
    });
    // A change event: counted as seen, then its data handed on; data that
    // does not parse is dropped (the next snapshot corrects it).
    const onData = (type, fn) => es.addEventListener(type, (e) => {
      seen(e);
      let v;
      try {
        v = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      fn(v);
    });
    onData('tile', (tile) => this.h.onTile(tile));
    onData('regions', (r) => {
      if (this.h.onRegions) this.h.onRegions(r);
    });
    onData('alert', (a) => this.h.onAlert(a));
    es.addEventListener('reset', () => {
      // Away longer than the server's ring reaches: the changes in between
      // are gone, so the snapshot is loaded again (it reopens the stream).
      this.close();
      this.h.onState('reloading', t('conn.missed'));
      this.h.onReset();
    });
    es.onerror = () => {
      if (this.es !== es) return;
      // Closed or retrying on its own: either way reopen from our last id.
      es.close();
      this.es = null;
      this.reconnects++;
      this._retry();
    };
  }

  _retry() {
    const wait = Math.min(BACKOFF_MAX_MS, this.backoff) * (0.5 + Math.random() * 0.5);
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    this.h.onState('reconnecting', t('conn.lost', {time: fmtDuration(Math.max(1, Math.round(wait / 1000)))}));
    this.timer = setTimeout(async () => {
      const same = await this.h.sameServer();
      if (!this.timer) return; // closed meanwhile
      this.timer = 0;
      if (same === null) this._retry();
      else if (!same) {
        this.h.onState('reloading', t('conn.restarted'));
        this.h.onReset();
      } else this._connect();
    }, wait);
  }
}
