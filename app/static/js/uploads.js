// The photos' own queue: after a sync (records are never held back by photos), the bytes of every photo
// whose attachment record the server has go up in chunks, resuming from where the server stands (HEAD), never
// from zero. On mobile data they wait for Wi-Fi unless the person taps "send now"; where the browser does not
// say what the connection is, the person is asked once (field.js keeps the answer).
import { inTx, req } from './db.js';

// A broken connection costs at most one chunk beyond what the server kept: small ones for weak signal
// (a 200 KB photo goes in four), at about half a kilobyte of headers each.
export const upload = { chunk: 64 * 1024 };

// 'cellular', 'wifi' (any connection that is not metered by the byte) or 'unknown'.
export function connectionKind() {
  const type = navigator.connection && navigator.connection.type;
  if (!type || type === 'unknown' || type === 'other') return 'unknown';
  return type === 'cellular' || type === 'wimax' ? 'cellular' : 'wifi';
}

async function update(db, id, change) {
  return inTx(db, 'photos', 'readwrite', async (tx) => {
    const store = tx.objectStore('photos');
    const photo = await req(store.get(id));
    if (photo) store.put(Object.assign(photo, change(photo)));
  });
}

// Photos whose bytes still have to go, and whether the server has their record yet.
export async function unsent(db) {
  return inTx(db, ['photos', 'records'], 'readonly', async (tx) => {
    const out = [];
    for (const photo of await req(tx.objectStore('photos').getAll())) {
      if (!photo.full || photo.state === 'failed') continue;
      const rec = await req(tx.objectStore('records').get(photo.id));
      if (!rec || rec.deleted || rec.state === 'rejected' || rec.fields.removed) continue; // nothing to send it to
      out.push({ photo, onServer: Boolean(rec.version) });
    }
    return out;
  });
}

const refuse = (db, id, code) => update(db, id, () => ({ state: 'failed', error: code, sent: 0 }));

async function send(db, token, photo) {
  const url = `/api/attachments/${photo.id}`;
  const auth = { Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0' };
  const head = await fetch(url, { method: 'HEAD', headers: auth, credentials: 'omit', cache: 'no-store' });
  if (!head.ok) return;
  let offset = Number(head.headers.get('Upload-Offset') || 0);
  while (offset < photo.full.size) {
    const response = await fetch(url, {
      method: 'PATCH', credentials: 'omit', cache: 'no-store',
      headers: { ...auth, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      body: photo.full.slice(offset, offset + upload.chunk),
    });
    if (response.status === 422 || response.status === 413) {
      const body = await response.json().catch(() => ({}));
      return refuse(db, photo.id, (body.error && body.error.code) || String(response.status));
    }
    if (response.status !== 204 && response.status !== 409) return; // tried again after the next sync
    offset = Number(response.headers.get('Upload-Offset') || 0);
    await update(db, photo.id, () => ({ sent: offset }));
  }
  // Confirmed whole by the server: only the thumbnail stays on the phone.
  return update(db, photo.id, () => ({ full: null, state: 'done', sent: photo.bytes }));
}

// What waits: {n, bytes} still to go, `held` when the connection (or the person's choice) keeps them back.
export async function waitingPhotos(db, mayGo) {
  const left = await unsent(db);
  const bytes = left.reduce((sum, { photo }) => sum + photo.full.size - (photo.sent || 0), 0);
  return { n: left.length, bytes, held: left.length > 0 && !mayGo };
}

// Send what may go now, one photo after another. A broken connection ends the run: the next one asks the
// server (HEAD) where to go on from.
export async function sendPhotos(db, session, mayGo) {
  if (mayGo && navigator.onLine) {
    for (const { photo, onServer } of await unsent(db)) {
      if (!onServer) continue;
      try {
        await send(db, session.token, photo);
      } catch (error) {
        break;
      }
    }
  }
  return waitingPhotos(db, mayGo);
}

// The thumbnails of the photos this phone has no bytes of (taken on another phone, or before this one was
// set up), fetched with the token (an <img> could not send it) and kept like the phone's own once sent.
// A photo whose upload has not finished is 404 for now and asked again after a later sync.
const ABSENT_FOR = 60 * 60 * 1000; // a thumbnail the server did not have is asked again an hour later
const absent = new Map(); // attachment id → when the server said 404

export async function fetchThumbs(db, token) {
  const missing = await inTx(db, ['records', 'photos'], 'readonly', async (tx) => {
    const have = new Set(await req(tx.objectStore('photos').getAllKeys()));
    const all = await req(tx.objectStore('records').getAll());
    const owners = new Set(all.filter((r) => !r.deleted).map((r) => r.id)); // only for records this phone keeps
    return all.filter((r) => r.type === 'attachment' && !r.deleted && !r.fields.removed && r.version && !have.has(r.id)
      && owners.has(r.fields.owner_id) && !(Date.now() - (absent.get(r.id) || -Infinity) < ABSENT_FOR));
  });
  let fetched = 0;
  for (const rec of missing) {
    const response = await fetch(`/api/attachments/${rec.id}?size=thumb`, {
      headers: { Authorization: `Bearer ${token}` }, credentials: 'omit', cache: 'no-store' });
    if (!response.ok) {
      absent.set(rec.id, Date.now());
      continue;
    }
    const thumb = await response.blob();
    await inTx(db, 'photos', 'readwrite', (tx) => tx.objectStore('photos').put({ id: rec.id, owner: rec.fields.owner_id,
      full: null, thumb, bytes: rec.fields.bytes, sent: rec.fields.bytes, state: 'done', error: null }));
    fetched += 1;
  }
  return fetched;
}
