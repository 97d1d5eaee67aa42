// The sync loop: push the outbox and pull changes in rounds of bounded size (POST /api/sync).
// Runs on load, on `online`, every minute while the page is open, when the page is shown again, on the
// button, and when the service worker relays a Background Sync event. Network errors and 5xx are retried
// with exponential backoff and never count as delivered; a 401 stops automatic syncing and asks for a
// new login with the server's code, keeping the outbox (what else stays is the page's call: field.js).
// One sync is one request as a rule (DESIGN.md, "On the wire"): the answer to a push confirms the pushed
// records by their results and leaves them out of its changes, the village's people come inside it when
// they changed since the version this phone has, and a body over a kilobyte goes gzipped. Going online
// fires both `online` and Background Sync: a wake-up during a sync, or just after one, sends nothing more.
import { countOutbox, getMeta, setMeta } from './db.js';
import { applyResponse, releaseBatch, takeBatch, wire } from './outbox.js';

const FIRST_RETRY = 5000;
const MAX_RETRY = 5 * 60 * 1000;
const EVERY = 60 * 1000;
const MAX_ROUNDS = 20;
const QUIET = 10 * 1000; // a wake-up this soon after a sync that ended well would only pull nothing
const GZIP_FROM = 1024; // bytes; a smaller body gains less than gzip's own header and the work

// The request body: gzipped where the browser can (CompressionStream) and it is worth it, else plain JSON.
async function encode(json) {
  const plain = new Blob([json]);
  if (plain.size < GZIP_FROM || typeof CompressionStream === 'undefined') return { body: json, headers: {} };
  const body = await new Response(plain.stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
  return { body, headers: { 'Content-Encoding': 'gzip' } };
}

// The server's clock at the answer (its Date header): when the records the push wrote changed on the server.
function serverTime(response) {
  const at = new Date(response.headers.get('Date') || NaN);
  return (Number.isNaN(at.getTime()) ? new Date() : at).toISOString();
}

export class Syncer extends EventTarget {
  constructor(db, session) {
    super();
    this.db = db;
    this.session = session;
    this.failures = 0;
    this.retry = null;
    this.running = null;
    this.again = null; // asked again while running: 'fresh' (the button, `online`) or 'more' (a save)
    this.syncedAt = -Infinity; // performance.now() when the last sync ended well
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

  // `people`: the village's people the answer brought, for the pickers at once (before "synced").
  changed(people) {
    this.dispatchEvent(new CustomEvent('change', { detail: { people } }));
  }

  // A wake-up (the minute, the page shown, Background Sync): skipped while a sync runs (it pulls already),
  // just after one ended well, while a retry is scheduled or a new login is needed. A save calls sync().
  nudge() {
    if (this.running || this.retry || this.blocked || performance.now() - this.syncedAt < QUIET) return;
    this.sync();
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
      this.again = fresh || this.again === 'fresh' ? 'fresh' : 'more';
      return this.running;
    }
    const run = () => this.loop();
    const lock = navigator.locks ? navigator.locks.request(`zhucun-sync-${this.session.user.id}`, run) : run();
    this.running = lock.catch((error) => this.emit('error', { message: String(error) })).finally(() => {
      this.running = null;
      const again = this.again;
      this.again = null;
      if (again) this.followUp(again === 'fresh').catch(() => {});
    });
    return this.running;
  }

  // Asked again while a sync ran. The button (or `online`) asks for a pull after the tap: another sync. A save
  // needs one only if its op is still waiting (the sync that ran takes new ops until the outbox is empty).
  async followUp(fresh) {
    if (fresh) return this.sync(true);
    if (!this.retry && (await countOutbox(this.db))) await this.sync();
  }

  async loop() {
    if (!navigator.onLine) return this.emit('offline');
    this.emit('syncing');
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const batch = await takeBatch(this.db, 100);
      if (batch.length) this.changed();
      const [cursor, people] = await Promise.all([getMeta(this.db, 'cursor'), getMeta(this.db, 'peopleVersion')]);
      const json = JSON.stringify({ device: this.session.device, cursor: cursor ?? null, limit: 200,
        people: people ?? null, ops: batch.map(wire) });
      let response;
      let body;
      try {
        const { body: sent, headers } = await encode(json);
        response = await fetch('/api/sync', {
          method: 'POST',
          credentials: 'omit',
          cache: 'no-store',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.session.token}`, ...headers },
          body: sent,
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
      await applyResponse(this.db, batch, body, serverTime(response));
      // Only when something changed: a redraw replaces the items, and a tap landing as they are replaced
      // is lost, so the sync every minute (or on `online`) must not redraw the page when it brought nothing.
      if (batch.length || (body.changes && body.changes.length) || body.people) this.changed(body.people?.list);
      if (!body.more && !(await countOutbox(this.db))) break;
    }
    this.failures = 0;
    this.syncedAt = performance.now();
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
