// IndexedDB. A small shared database "zhucun" names nobody's records: the session pointer (who is logged in
// on this phone, with their device token), the people who logged out with entries still waiting (name and
// count, for the login page) and the device tokens still to be revoked once there is a connection. Each user
// has their own database "zhucun-u<id>": the local replica (records), the outbox of ops and a little metadata
// (cursor, last sync, people, schema). Logging out deletes that database, or, while entries wait, keeps only
// the outbox and the records it wrote, which are sent when the same person logs in again (signout.js).

export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function open(name, upgrade, version = 1) {
  const request = indexedDB.open(name, version);
  request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
  return req(request).then((db) => {
    db.onversionchange = () => db.close();
    return db;
  });
}

// Run fn(tx) in one transaction; resolves once it has committed, aborts it if fn throws.
// fn may only await IndexedDB requests of this transaction, or it would commit early.
// `strict`: resolve only once the write is on disk (Chromium's default is relaxed: a phone whose battery
// dies right after "saved" could lose the entry). Used for what a person typed.
export async function inTx(db, stores, mode, fn, { strict = false } = {}) {
  const tx = db.transaction(stores, mode, strict ? { durability: 'strict' } : undefined);
  const finished = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = tx.onabort = () => reject(tx.error || new DOMException('Transaction aborted', 'AbortError'));
  });
  finished.catch(() => {});
  try {
    const result = await fn(tx);
    await finished;
    return result;
  } catch (error) {
    try { tx.abort(); } catch (e) { /* already finished */ }
    throw error;
  }
}

// In the shared database: the device tokens of logouts that had no signal, still to revoke ([{device, token}]).
export const PENDING_LOGOUTS = 'pendingLogouts';

let shared;
const sharedDb = () => (shared ||= open('zhucun', (db) => db.createObjectStore('kv')));

export async function getShared(key) {
  return inTx(await sharedDb(), 'kv', 'readonly', (tx) => req(tx.objectStore('kv').get(key)));
}

// Change one value of the shared database in one transaction: change(old) returns the new value, or
// undefined to delete it.
export async function updateShared(key, change) {
  return inTx(await sharedDb(), 'kv', 'readwrite', async (tx) => {
    const kv = tx.objectStore('kv');
    const value = change(await req(kv.get(key)));
    if (value === undefined) kv.delete(key);
    else kv.put(value, key);
    return value;
  });
}

export const getSession = () => getShared('session');
export const setSession = (session) => updateShared('session', () => session);
export const clearSession = () => updateShared('session', () => undefined);

export function openUser(userId) {
  return open(`zhucun-u${userId}`, (db, from) => {
    if (from < 1) {
      db.createObjectStore('records', { keyPath: 'id' });
      db.createObjectStore('outbox', { keyPath: 'n', autoIncrement: true }).createIndex('id', 'id');
      db.createObjectStore('meta');
    }
    // Version 2: the photos' bytes, by attachment id ({id, owner, full, thumb, sent, state, error}).
    if (from < 2) db.createObjectStore('photos', { keyPath: 'id' });
  }, 2);
}

// Delete a user's database. Other tabs close their connection when asked (see open); the caller closes its own.
export function deleteUser(userId) {
  return req(indexedDB.deleteDatabase(`zhucun-u${userId}`));
}

// Keep only what has not reached the server: the outbox and the records its ops wrote. The metadata goes
// (cursor, people, history, schema), so the next login pulls everything again. Returns the outbox's size.
export async function keepOnlyOutbox(db) {
  return inTx(db, ['records', 'outbox', 'meta', 'photos'], 'readwrite', async (tx) => {
    const ops = await req(tx.objectStore('outbox').getAll());
    // A photo whose bytes have not all gone stays too, with its record (the upload asks the server for it).
    const photos = tx.objectStore('photos');
    const records = tx.objectStore('records');
    const live = new Set(await req(records.getAllKeys()));
    const waiting = waitingIn(ops, await req(photos.getAll()), live);
    const kept = new Set([...ops.map((op) => op.id), ...waiting.unsent]);
    for (const id of await req(photos.getAllKeys())) if (!kept.has(id)) photos.delete(id);
    for (const id of live) if (!kept.has(id)) records.delete(id);
    tx.objectStore('meta').clear();
    return waiting.entries + waiting.photos;
  });
}

export async function countOutbox(db) {
  return inTx(db, 'outbox', 'readonly', (tx) => req(tx.objectStore('outbox').count()));
}

// What waits, as people count it: {entries: the ops, photos: the photos whose bytes have not all gone (not
// refused, their record on the phone)}; a photo's own record counts once, as the photo (a later caption or
// removal of a sent photo is an entry).
function waitingIn(ops, photos, live) {
  const unsent = new Set(photos.filter((p) => p.full && p.state !== 'failed' && live.has(p.id)).map((p) => p.id));
  return { entries: ops.filter((op) => !(op.type === 'attachment' && unsent.has(op.id))).length, photos: unsent.size, unsent };
}

export const countWaiting = (db) => inTx(db, ['outbox', 'photos', 'records'], 'readonly', async (tx) => waitingIn(
  await req(tx.objectStore('outbox').getAll()), await req(tx.objectStore('photos').getAll()),
  new Set(await req(tx.objectStore('records').getAllKeys()))));

export async function getMeta(db, key) {
  return inTx(db, 'meta', 'readonly', (tx) => req(tx.objectStore('meta').get(key)));
}

export async function setMeta(db, key, value) {
  return inTx(db, 'meta', 'readwrite', (tx) => req(tx.objectStore('meta').put(value, key)));
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Every photo on the phone, by the record it belongs to (the cards' thumbnails), and forgetting one.
export async function photosByOwner(db) {
  const all = await inTx(db, 'photos', 'readonly', (tx) => req(tx.objectStore('photos').getAll()));
  const by = new Map();
  for (const p of all) by.set(p.owner, [...(by.get(p.owner) || []), p]);
  return by;
}

export const forgetPhoto = (db, id) => inTx(db, 'photos', 'readwrite', (tx) => tx.objectStore('photos').delete(id));
