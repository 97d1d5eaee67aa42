// Logging out: warn when entries have not been synced, then forget the session pointer. The user's own
// database stays on the phone, so their unsynced entries are sent when they log in again.
import { clearSession, countOutbox, getSession, openUser } from './db.js';

const form = document.getElementById('logout-form');

function message(n) {
  const strings = document.getElementById('strings');
  const text = strings && JSON.parse(strings.textContent).logoutUnsynced;
  return (text || 'Unsynced entries: {n}. Log out anyway?').replace('{n}', String(n));
}

if (form) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const session = await getSession();
      if (session) {
        const db = await openUser(session.user.id);
        const waiting = await countOutbox(db);
        db.close();
        if (waiting > 0 && !window.confirm(message(waiting))) return;
        await clearSession();
      }
    } catch (error) { /* no IndexedDB: nothing to protect */ }
    form.submit();
  });
}
