// Ending a person's session on this phone: logging out, switching person, a device the server no longer
// accepts. The server ends the device (its token, page session and remember cookie: POST /api/auth/logout);
// with no connection the token waits in the shared database and the next page that is online revokes it.
// On the phone only what has not reached the server stays: the outbox and the records it wrote, sent when
// the same person logs in again. Everything else of theirs goes: the rest of their database (all of it when
// nothing waits), the session pointer, and any cached page that is not the user-neutral shell.
import { PENDING_LOGOUTS as PENDING, deleteUser, getShared, keepOnlyOutbox, openUser, updateShared } from './db.js';

const WAITING = 'waiting'; // {userId: {id, username, name, unit, count}}: who has entries waiting here

const underSyncLock = (userId, fn) => (navigator.locks ? navigator.locks.request(`zhucun-sync-${userId}`, fn) : fn());
const orNothing = (value) => (Object.keys(value).length ? value : undefined);

// True once the device is over on the server (a 401 says it was already); false when the server could not
// be asked (no connection, a server error), so it must be revoked later.
export async function revoke({ token }) {
  try {
    const response = await fetch('/api/auth/logout', {
      method: 'POST', credentials: 'omit', cache: 'no-store', headers: { Authorization: `Bearer ${token}` },
    });
    return response.ok || response.status === 401;
  } catch (error) {
    return false;
  }
}

export function revokeLater({ device, token }) {
  return updateShared(PENDING, (list = []) => [...list.filter((p) => p.device !== device), { device, token }]);
}

// The logouts that found no connection, sent now and whenever the connection comes back.
export async function sendPendingLogouts() {
  if (!navigator.onLine) return;
  const done = new Set();
  for (const pending of (await getShared(PENDING)) || []) if (await revoke(pending)) done.add(pending.device);
  if (done.size) await updateShared(PENDING, (list = []) => orNothing(list.filter((p) => !done.has(p.device))));
}

export function sendPendingLogoutsNowAndOnline() {
  addEventListener('online', () => sendPendingLogouts().catch(() => {}));
  return sendPendingLogouts().catch(() => {});
}

// Keep only the unsent entries of the session's user and forget the session. `db` is their open database
// (opened here if not given); it is closed and deleted when nothing waits. Returns how many entries stay.
// Done under the user's sync lock, so no sync still running (here or in another tab) writes after it.
export async function keepOnlyUnsent(session, db) {
  const { user } = session;
  const left = await underSyncLock(user.id, async () => {
    const mine = db || (await openUser(user.id));
    const count = await keepOnlyOutbox(mine);
    if (!count) {
      mine.close();
      await deleteUser(user.id);
    } else if (!db) mine.close();
    return count;
  });
  await updateShared(WAITING, (all = {}) => {
    const rest = { ...all };
    if (left) rest[user.id] = { id: user.id, username: user.username, name: user.name || user.username, unit: (user.unit && user.unit.name) || '', count: left };
    else delete rest[user.id];
    return orNothing(rest);
  });
  await updateShared('session', (now) => (now && now.device === session.device ? undefined : now));
  await forgetPages();
  return left;
}

// Revoke (now, or later without a connection), then keep only the unsent entries.
export async function signOut(session, db) {
  if (!(await revoke(session))) await revokeLater(session);
  return keepOnlyUnsent(session, db);
}

// Versioned assets name nobody, and the shell pages the server marks as user-neutral neither; any other
// cached page could (an earlier version of the app kept the field page with its user's name in it).
export async function forgetPages() {
  if (!self.caches) return;
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (path.startsWith('/static/') || path.startsWith('/js/')) continue;
      const response = await cache.match(request);
      if (!response || response.headers.get('Zhucun-Shell') !== 'neutral') await cache.delete(request);
    }
  }
}

// The people with entries waiting on this phone (for the login page), and one of them logging in again.
export async function waitingPeople() {
  return Object.values((await getShared(WAITING)) || {});
}

export function loggedIn(user) {
  return updateShared(WAITING, (all = {}) => {
    const rest = { ...all };
    delete rest[user.id];
    return orNothing(rest);
  });
}
