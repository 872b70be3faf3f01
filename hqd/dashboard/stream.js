// The head office's change stream (GET /v1/stream, Server-Sent Events),
// resumed without loss: it is opened with ?since= the snapshot's stream_id,
// and after any break it is reopened here with ?since= the last event id
// seen. The browser's own reconnect is not used, because it would repeat
// the first URL, and hqd takes ?since over the Last-Event-ID header the
// browser adds: every reconnect would replay from the snapshot again, and
// after a long day be told to reset.

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

export class Stream {
  // handlers: {onTile(tile), onAlert(alert), onReset(), onState(state, detail)}
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
    this.h.onState('connecting', `resuming after event ${this.lastId}`);
    const seen = (e) => {
      const id = Number(e.lastEventId);
      if (Number.isFinite(id) && id > this.lastId) this.lastId = id;
      this.events++;
      this.lastEventAt = Date.now();
    };
    es.addEventListener('hello', () => {
      this.backoff = BACKOFF_MIN_MS;
      this.h.onState('live', '');
    });
    es.addEventListener('tile', (e) => {
      seen(e);
      let t;
      try {
        t = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      this.h.onTile(t);
    });
    es.addEventListener('alert', (e) => {
      seen(e);
      let a;
      try {
        a = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      this.h.onAlert(a);
    });
    es.addEventListener('reset', () => {
      // Away longer than the server's ring reaches: the changes in between
      // are gone, so the snapshot is loaded again (it reopens the stream).
      this.close();
      this.h.onState('reloading', 'missed too many changes; reloading');
      this.h.onReset();
    });
    es.onerror = () => {
      if (this.es !== es) return;
      // Closed or retrying on its own: either way reopen from our last id.
      es.close();
      this.es = null;
      this.reconnects++;
      const wait = Math.min(BACKOFF_MAX_MS, this.backoff) * (0.5 + Math.random() * 0.5);
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
      this.h.onState('reconnecting', `connection lost; retrying in ${Math.round(wait / 100) / 10}s`);
      this.timer = setTimeout(() => {
        this.timer = 0;
        this._connect();
      }, wait);
    };
  }
}
