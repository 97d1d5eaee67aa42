// The sync loop: push the outbox and pull changes in rounds of bounded size (POST /api/sync).
// Runs on load, on `online`, every minute while the page is open, when the page is shown again, on the
// button, and when the service worker relays a Background Sync event. Network errors and 5xx are retried
// with exponential backoff and never count as delivered; a 401 stops automatic syncing and asks for a
// new login with the server's code, keeping the outbox (what else stays is the page's call: field.js).
// `after` is what else a sync fetches (the village's people): it is done before the sync says "synced",
// so "synced" means nothing is on the way any more.
import { countOutbox, getMeta, setMeta } from './db.js';
import { applyResponse, releaseBatch, takeBatch, wire } from './outbox.js';

const FIRST_RETRY = 5000;
const MAX_RETRY = 5 * 60 * 1000;
const EVERY = 60 * 1000;
const MAX_ROUNDS = 20;

export class Syncer extends EventTarget {
  constructor(db, session, after = async () => {}) {
    super();
    this.db = db;
    this.session = session;
    this.after = after;
    this.failures = 0;
    this.retry = null;
    this.running = null;
    this.again = false;
    this.blocked = false; // after a 401, until a new login
    this.stopped = false; // the session has ended on this phone
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  emit(status, detail = {}) {
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, ...detail } }));
  }

  changed() {
    this.dispatchEvent(new Event('change'));
  }

  // A sync that waits its turn: skipped while a retry is scheduled or a new login is needed.
  nudge() {
    if (!this.retry && !this.blocked) this.sync();
  }

  start() {
    setInterval(() => this.nudge(), EVERY);
    addEventListener('online', () => this.sync(true));
    addEventListener('offline', () => this.emit('offline'));
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') this.nudge(); });
    return this.sync();
  }

  // Sync now; `fresh` (the button, `online`) forgets the backoff.
  sync(fresh = false) {
    if (this.stopped) return Promise.resolve();
    if (fresh) {
      this.failures = 0;
      this.blocked = false;
      clearTimeout(this.retry);
      this.retry = null;
    }
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = () => this.loop();
    const lock = navigator.locks ? navigator.locks.request(`zhucun-sync-${this.session.user.id}`, run) : run();
    this.running = lock.catch((error) => this.emit('error', { message: String(error) })).finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.sync();
      }
    });
    return this.running;
  }

  async loop() {
    if (!navigator.onLine) return this.emit('offline');
    this.emit('syncing');
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const batch = await takeBatch(this.db, 100);
      if (batch.length) this.changed();
      const cursor = await getMeta(this.db, 'cursor');
      let response;
      let body;
      try {
        response = await fetch('/api/sync', {
          method: 'POST',
          credentials: 'omit',
          cache: 'no-store',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.session.token}` },
          body: JSON.stringify({ device: this.session.device, cursor: cursor ?? null, limit: 200, ops: batch.map(wire) }),
        });
        body = await response.json(); // a captive portal's HTML page fails here too
      } catch (error) {
        return this.backoff('retry');
      }
      if (response.status >= 500) return this.backoff('serverError'); // may or may not have been applied
      if (!response.ok) { // refused as a whole: nothing was applied
        await releaseBatch(this.db, batch);
        this.changed();
        const error = (body && body.error) || {};
        if (response.status === 401) {
          this.blocked = true;
          return this.emit('relogin', { code: error.code });
        }
        return this.backoff(response.status === 429 ? 'serverError' : 'error', { message: error.message });
      }
      await applyResponse(this.db, batch, body);
      // Only when something changed: a redraw replaces the items, and a tap landing as they are replaced
      // is lost, so the sync every minute (or on `online`) must not redraw the page when it brought nothing.
      if (batch.length || (body.changes && body.changes.length)) this.changed();
      if (!body.more && !(await countOutbox(this.db))) break;
    }
    this.failures = 0;
    await this.after();
    const at = new Date().toISOString();
    await setMeta(this.db, 'lastSync', at);
    this.emit('synced', { at });
  }

  backoff(status, detail = {}) {
    const delay = Math.min(MAX_RETRY, FIRST_RETRY * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
    this.failures += 1;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.sync();
    }, delay);
    this.emit(status, { seconds: Math.round(delay / 1000), ...detail });
  }
}
