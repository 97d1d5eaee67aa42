// The field page: everything is drawn from this phone's IndexedDB, then kept in step with the server.
import { countOutbox, getMeta, getSession, openUser } from './db.js';
import { journals, saveJournal } from './outbox.js';
import { registerWorker, requestBackgroundSync, storageReport } from './pwa.js';
import { Syncer } from './sync.js';
import * as ui from './ui.js';
import './logout.js';

const root = document.getElementById('field');
const pageUser = Number(root.dataset.userId);
let syncer = null;

registerWorker(ui.showUpdate, () => syncer && syncer.nudge()).catch(() => {});

async function main() {
  const session = await getSession().catch(() => null);
  // The data shown is the logged-in session's, never another user's who used this phone before.
  if (!session || !session.token || session.user.id !== pageUser) {
    ui.askLogin('noSession');
    return;
  }
  const db = await openUser(session.user.id);
  const me = session.user.username;
  let form = null;

  async function refresh() {
    ui.renderList(await journals(db), me, (rec) => form.edit(rec));
    ui.renderCounts(await countOutbox(db), await getMeta(db, 'lastSync'));
  }

  form = ui.journalForm({
    onSave: async (id, values) => {
      await saveJournal(db, id, values, me);
      await refresh();
      if (navigator.onLine) syncer.sync();
      else requestBackgroundSync();
    },
  });

  syncer = new Syncer(db, session);
  syncer.addEventListener('change', refresh);
  syncer.addEventListener('status', (event) => {
    ui.renderStatus(event.detail);
    if (event.detail.status === 'synced') refresh();
    // Background Sync fires at once when the browser thinks it is online, so ask only when it is not;
    // network errors while "online" are retried by the backoff timer instead.
    if (event.detail.status === 'offline') requestBackgroundSync();
  });
  document.getElementById('sync-now').addEventListener('click', () => syncer.sync(true));

  ui.showBody();
  await refresh();
  storageReport().then(ui.renderStorage).catch(() => {});
  syncer.start();
}

main().catch((error) => ui.renderStatus({ status: 'error', message: String(error) }));
