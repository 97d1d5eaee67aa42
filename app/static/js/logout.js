// The field header: who is logged in (from this phone's session, never from the page) and the two ways to
// end it, "log out" and "switch person", which both lead to the login page. Entries that have not been sent
// are tried once more; if some still wait, the person is told that only they stay on this phone. With no
// signal, they are told that logging in again will need a connection (the server hears of it later), and the
// page says so itself instead of opening the login page, which the service worker cannot serve offline.
import { countWaiting } from './db.js';
import * as ui from './ui.js';

// ctx: {db, session, syncer, end()}; end() stops the page's syncing and drawing.
export function wire(ctx) {
  const { user } = ctx.session;
  ui.$('who').textContent = [user.name || user.username, user.unit && user.unit.name].filter(Boolean).join(' · ');
  ui.show(ui.$('account'), true);
  ui.$('logout').onclick = () => endSession(ctx, ui.t('logOut'));
  ui.$('switch-user').onclick = () => endSession(ctx, ui.t('switchPerson'));
}

let busy = false;

async function endSession(ctx, yes) {
  if (busy) return;
  busy = true;
  try {
    const ended = await leave(ctx, yes);
    if (ended && ended.revoked) location.assign('/login');
    else if (ended) await signedOutHere(ended.left);
  } finally {
    busy = false;
  }
}

// Logged out without a connection: the page stays and says what happened, and the device is revoked as soon
// as the connection comes back.
async function signedOutHere(left) {
  for (const el of document.querySelectorAll('#account, .syncbar, #field-body, #undo-bar')) ui.show(el, false);
  ui.$('who').textContent = '';
  ui.$('field-body').replaceChildren(); // nothing of theirs stays on the page either
  ui.$('signed-out-kept').textContent = left ? ui.t('logoutUnsent', { n: left }) : ui.t('signedOutEmpty');
  ui.show(ui.$('signed-out'), true);
  ui.$('signed-out').focus();
  (await import('./signout.js')).sendPendingLogoutsNowAndOnline();
}

// Once the session has ended on this phone: {revoked: whether the server heard of it, left: entries kept}.
async function leave(ctx, yes) {
  const { keepOnlyUnsent, revoke, revokeLater } = await import('./signout.js'); // precached: offline too
  const ask = (text) => ui.confirm(text, yes, ui.t('stayLoggedIn'));
  // A photo whose bytes have not gone counts as an entry that waits (it stays, and is sent after the next login).
  const unsentNow = async () => {
    const { entries, photos } = await countWaiting(ctx.db);
    return entries + photos;
  };
  let waiting = await unsentNow();
  if (waiting && navigator.onLine) {
    await ctx.syncer.sync(true);
    if (ctx.signedOut) return ctx.signedOut.then(() => ({ revoked: true })); // the server ended this device meanwhile
    waiting = await unsentNow();
  }
  const unsent = waiting ? ui.t('logoutUnsent', { n: waiting }) : '';
  const offline = !navigator.onLine;
  const question = [offline && ui.t('logoutOffline'), unsent].filter(Boolean).join('\n');
  if (question && !(await ask(question))) return false;
  const revoked = navigator.onLine && (await revoke(ctx.session));
  if (!revoked) {
    // "Online" but the server could not be reached: the same warning as with no signal.
    if (!offline && !(await ask(ui.t('logoutOffline')))) return false;
    await revokeLater(ctx.session);
  }
  ctx.end();
  const left = await keepOnlyUnsent(ctx.session, ctx.db);
  ctx.db.close();
  return { revoked, left };
}
