// The field page: everything is drawn from this phone's IndexedDB, then kept in step with the server.
// The page itself names nobody (the service worker keeps it for whoever uses the phone): who is logged in
// comes from the session pointer in IndexedDB. One shell page with hash routes: #journal (the default),
// #problems, #pavilion, #tasks, #week. The views other than the journal live in views.js and their markup in
// a fragment of the server's (the `views-slot`'s URL), both fetched when one is first opened and precached by
// the service worker for offline use: the first load carries only what the journal needs.
import { PENDING_LOGOUTS, countWaiting, forgetPhoto, getMeta, getSession, getShared, openUser, photosByOwner, setMeta,
  setSession } from './db.js';
import { formOf } from './forms.js';
import { acknowledge, allRecords, discard, rejected, restore, saveMany } from './outbox.js';
import { registerWorker, requestBackgroundSync, storageReport } from './pwa.js';
import { explain, loadSchema, typeLabel } from './schema.js';
import { Syncer } from './sync.js';
import * as ui from './ui.js';
import { wire as wireAccount } from './logout.js';

// The server no longer accepts this device (revoked, logged out elsewhere, unused too long): only what has
// not been sent stays. Any other 401 (a token the server does not know) asks to log in and keeps everything.
const DEVICE_ENDED = new Set(['device_revoked', 'token_expired']);
const VIEWS = ['journal', 'problems', 'pavilion', 'tasks', 'week'];
const VIEW_OF = { journal: 'journal', problem: 'problems', meeting: 'pavilion', request: 'pavilion', task: 'tasks' };
let syncer = null;
let views = null;

// The other views' markup, put where the slot is (the views) and at the end of the page (their dialogs
// and item templates).
async function loadMarkup() {
  const slot = ui.$('views-slot');
  const response = await fetch(slot.dataset.src);
  if (!response.ok) throw new Error(`views: HTTP ${response.status}`);
  const parsed = document.createElement('template');
  parsed.innerHTML = await response.text();
  for (const el of [...parsed.content.children]) {
    if (el.classList.contains('view')) slot.before(el);
    else ui.$('field').append(el);
  }
  slot.remove();
}

const loadViews = () => (views ||= Promise.all([import('./views.js'), loadMarkup()]).then(([m]) => m)
  .catch((error) => {
    views = null; // tried again when a view is next opened
    throw error;
  }));

registerWorker(ui.showUpdate, () => syncer && syncer.nudge()).catch(() => {});

// The menus of the header and the cards (<details class="more">): one open at a time, closed by a tap
// elsewhere, by Escape, or once one of their buttons has done its thing. A tap on a long text shows it all.
function wireMenus() {
  const closeAll = (except) => {
    for (const menu of document.querySelectorAll('details.more[open]')) if (menu !== except) menu.open = false;
  };
  document.addEventListener('click', (event) => {
    const menu = event.target.closest('details.more');
    closeAll(menu);
    if (menu && event.target.closest('.more-body :is(button[type=button], a)')) menu.open = false;
    event.target.closest('.entry-text')?.classList.toggle('expanded');
  });
  document.addEventListener('keydown', (event) => {
    const menu = event.key === 'Escape' && document.activeElement.closest('details.more[open]');
    if (!menu) return;
    menu.open = false;
    menu.querySelector('summary').focus();
  });
  // The journal's text boxes start short (the form fits the screen) and grow with what is written.
  document.addEventListener('input', (event) => {
    const box = event.target.closest('.journal-form textarea');
    if (box && box.scrollHeight > box.clientHeight) box.style.height = `${box.scrollHeight + 4}px`;
  });
}
wireMenus();

async function main() {
  const session = await getSession().catch(() => null);
  if (!session || !session.token) { // nobody is logged in on this phone
    if (navigator.onLine) location.replace('/login');
    else ui.askLogin('noSession');
    return;
  }
  const db = await openUser(session.user.id);
  const me = session.user.username;
  try {
    await loadSchema(db, document.documentElement.lang || 'zh-CN', session.user.role);
  } catch (error) { // never fetched, and no connection now
    ui.askLogin('noSchema');
    return;
  }
  let view = 'journal';
  let timer = null;
  let drawnOn = null; // the day of the last drawing: "this week" and "today" are drawn into the views
  let ended = false; // the session ended on this phone: nothing is drawn or synced any more

  const ctx = {
    db, session, me, people: [], data: null, signedOut: null, photos: new Map(), thumbs: null,
    refresh,
    end() {
      ended = true;
      syncer.stop();
    },
    message(text) {
      const el = ui.$('view-message');
      el.textContent = text;
      clearTimeout(timer);
      timer = setTimeout(() => { el.textContent = ''; }, 4000);
    },
    // photos: the bytes of the attachment records among the items (photos.js), kept in the same transaction.
    async saveMany(items, photos = []) {
      const records = await saveMany(db, items, me, photos);
      await changed();
      return records;
    },
    // A refused new record's photos were refused with it (no owner): saved again with it, they go again.
    refusedPhotos: (id) => ctx.data.attachment.filter((a) => a.fields.owner_id === id && a.state === 'rejected' && !a.server)
      .map((a) => ({ type: 'attachment', id: a.id, values: {} })),
    // A card's photos: this phone's thumbnails (waiting, sent, or refused and why), and how many others have.
    drawPhotos(slot, rec) {
      if (!ctx.thumbs) return;
      const { drawThumbs, refusal } = ctx.thumbs;
      const attached = ctx.data.attachment.filter((a) => a.fields.owner_id === rec.id && !a.fields.removed);
      const kept = (ctx.photos.get(rec.id) || []).filter((p) => !(ctx.attachments.get(p.id)?.fields.removed));
      const shown = kept.map((photo) => {
        const att = ctx.attachments.get(photo.id);
        const reason = att && att.state === 'rejected' ? explain(att) : photo.state === 'failed' ? refusal(photo.error) : null;
        return { photo, reason, caption: att ? att.fields.caption : null };
      });
      const ids = new Set(kept.map((p) => p.id));
      const mayChange = (photo) => ctx.attachments.has(photo.id);
      drawThumbs(slot, shown, attached.filter((a) => !ids.has(a.id)).length, (photo) => removePhoto(photo),
        (photo, url, caption) => mayChange(photo) && ctx.thumbs.openSheet(url, caption, {
          confirm: ui.confirm,
          onCaption: async (text) => { await ctx.save('attachment', photo.id, { caption: text }); ctx.message(ui.t('saved')); },
          onRemove: async () => {
            await removePhoto(photo);
            ctx.message(ui.t('photo.removed'));
          },
        }));
    },
    save: async (type, id, values) => (await ctx.saveMany([{ type, id, values }]))[0],
    edit: async (rec) => {
      if (rec.type !== 'journal') await loadViews(); // the other forms are in the views' markup
      formOf(rec.type, ctx).open(rec);
    },
    ack: async (rec) => { await acknowledge(db, rec.id); await changed(); },
    discard: (rec) => discardAsked(rec),
    history: (rec) => import('./history.js').then((h) => h.open(rec, ctx)),
    // The comments (批注) on a record and the reply box; loaded when first opened.
    thread: (rec) => import('./thread.js').then((m) => m.open(rec, ctx)),
    // A journal entry drafted into a problem: the problem form opens prefilled; nothing is made until saved.
    async toProblem(rec) {
      location.hash = '#problems';
      (await loadViews()).draftProblem(rec, ctx);
    },
  };

  // Discarding asks first, says what will be deleted, and can be undone for a while.
  async function discardAsked(rec) {
    const what = ui.preview(rec);
    const question = rec.server ? ui.t('discardChange', { type: typeLabel(rec.type), what })
      : ui.t('discardNew', { type: typeLabel(rec.type), what });
    if (!(await ui.confirm(question, ui.t('discard')))) return;
    const kept = await discard(db, rec.id);
    // A refused new record's photos were refused with it (no owner): they go too, and come back with an undo.
    const photos = kept && !kept.server ? ctx.data.attachment.filter((a) => a.fields.owner_id === rec.id) : [];
    const keptPhotos = (await Promise.all(photos.map((a) => discard(db, a.id)))).filter(Boolean);
    await refresh();
    if (kept) {
      ui.offerUndo(ui.t('discarded'), async () => {
        if (!(await restore(db, kept))) return;
        for (const photo of keptPhotos) await restore(db, photo);
        await refresh();
      });
    }
  }

  // A photo taken off the phone, its record kept: one refused before the server ever had it is simply not sent;
  // any other is removed on the server too (nobody waits for it, nobody sees it).
  async function removePhoto(photo) {
    const att = ctx.attachments.get(photo.id);
    if (att && att.state === 'rejected' && !att.server) await discard(db, photo.id);
    else if (att) await saveMany(db, [{ type: 'attachment', id: photo.id, values: { removed: true } }], me);
    await forgetPhoto(db, photo.id);
    await changed();
  }

  // The photos' bytes go after the records, when the connection (or the person) allows.
  // uploads.js loads once this phone has a photo (it is precached, so offline too).
  let photoPolicy = (await getMeta(db, 'photoSending')) || null; // 'auto' | 'manual', asked where the browser cannot tell
  let uploading = null;
  const uploads = () => import('./uploads.js');
  const mayGo = (kind, now) => now || (kind === 'unknown' ? photoPolicy === 'auto' : kind === 'wifi');
  const showPhotos = (kind, left) => ui.renderPhotos(left, kind === 'unknown' && !photoPolicy);
  // A pass sends what may go, then fetches the thumbnails of photos taken elsewhere (small, 10–25 KB: they come
  // with any connection, like records). A tap while a pass runs (which may have started under another rule) asks
  // for one more pass after it.
  let again = null;
  function sendPhotosNow(now = false) {
    if (!ctx.photos.size && !(ctx.data && ctx.data.attachment.length)) return Promise.resolve();
    if (uploading) {
      again = now || again === 'now' ? 'now' : 'auto';
      return uploading;
    }
    uploading = uploads().then(async (u) => {
      const kind = u.connectionKind();
      showPhotos(kind, await u.sendPhotos(db, session, mayGo(kind, now)));
      if (navigator.onLine) await u.fetchThumbs(db, session.token);
      return refresh();
    }).catch(() => {}).finally(() => {
      uploading = null;
      const next = again;
      again = null;
      if (next) sendPhotosNow(next === 'now');
    });
    return uploading;
  }
  async function drawWaitingPhotos() {
    if (uploading) return; // it says what is left when it ends
    if (!ctx.photos.size) return ui.renderPhotos({ n: 0, bytes: 0, held: false }, false);
    const u = await uploads();
    const kind = u.connectionKind();
    showPhotos(kind, await u.waitingPhotos(db, mayGo(kind, false)));
  }
  async function photosChosen(policy) {
    photoPolicy = policy;
    await setMeta(db, 'photoSending', policy);
    await sendPhotosNow(policy === 'auto');
  }

  // Once a day, after a sync that ended well: what is closed, on the server and old leaves the phone, and so do
  // the bytes of photos whose record is gone (a refused new record discarded with them).
  async function tidy() {
    if ((await getMeta(db, 'tidiedOn')) === ui.today()) return;
    await setMeta(db, 'tidiedOn', ui.today());
    for (const [, photos] of ctx.photos) {
      for (const photo of photos) if (!ctx.attachments.has(photo.id)) await forgetPhoto(db, photo.id);
    }
    const gone = await (await import('./housekeeping.js')).prune(db);
    if (gone.records) await refresh();
    storageReport().then(ui.renderStorage).catch(() => {});
  }

  async function changed() {
    await refresh();
    if (navigator.onLine) syncer.sync();
    else requestBackgroundSync();
  }

  async function refresh() {
    if (ended) return;
    drawnOn = ui.today();
    const data = await allRecords(db);
    ctx.data = data;
    ctx.attachments = new Map(data.attachment.map((a) => [a.id, a]));
    ctx.photos = await photosByOwner(db);
    // A photo removed (here or on another phone of the village) leaves this phone at once.
    const removed = [...ctx.photos.values()].flat().filter((p) => ctx.attachments.get(p.id)?.fields.removed);
    for (const photo of removed) await forgetPhoto(db, photo.id);
    if (removed.length) ctx.photos = await photosByOwner(db);
    // photos.js draws the cards' photos; loaded once there are some.
    ctx.thumbs = ctx.photos.size || data.attachment.length ? await import('./photos.js') : null;
    if (ctx.thumbs) ctx.thumbs.forgetThumbs();
    ctx.people = (await getMeta(db, 'people')) || [];
    ui.setPeople(ctx.people);
    ctx.byId = new Map(Object.keys(VIEW_OF).flatMap((type) => data[type].map((r) => [r.id, r])));
    ctx.threads = ui.threads(data.review, (await getMeta(db, 'seen')) || {}, me);
    const unread = [...ctx.threads].filter(([id, th]) => th.unread && ctx.byId.has(id));
    ui.renderReviews(unread.reduce((n, [, th]) => n + th.unread, 0), () => {
      const rec = ctx.byId.get(unread[0][0]);
      location.hash = `#${VIEW_OF[rec.type]}`;
      ctx.thread(rec);
    });
    if (view === 'journal') ui.renderList(data.journal, { ...ctx, problems: data.problem });
    else (await loadViews()).render(view, data, ctx);
    await counts();
    await drawWaitingPhotos();
    if (ui.$('thread').open) (await import('./thread.js')).draw(ctx);
  }

  // The sync bar's counts: waiting, and refused (a tap opens the first refused entry to fix it).
  async function counts(at) {
    const [{ entries: waiting }, refused] = await Promise.all([countWaiting(db), rejected(db)]);
    ui.renderCounts(waiting, refused.length, at || (await getMeta(db, 'lastSync')), () => {
      const rec = refused[0];
      const about = rec && rec.type === 'review' ? ctx.byId.get(rec.fields.target_id)
        : rec && rec.type === 'attachment' ? ctx.byId.get(rec.fields.owner_id) : rec;
      if (!about) return;
      location.hash = `#${VIEW_OF[about.type] || 'journal'}`;
      if (rec.type === 'review') ctx.thread(about);
      else if (rec.type === 'attachment') document.querySelector(`.entry[data-id="${about.id}"]`)?.scrollIntoView({ block: 'center' });
      else ctx.edit(rec);
    });
    return refused.length;
  }

  function route() {
    const name = location.hash.slice(1);
    view = VIEWS.includes(name) ? name : 'journal';
    const drawing = view;
    for (const a of ui.$('tabs').querySelectorAll('a')) {
      if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    // A view is shown once it is drawn: views.js (loaded on first use) wires the "new" buttons when it
    // first draws, so a view shown earlier had buttons that did nothing yet, and the last drawing's items.
    return refresh().finally(() => {
      if (view !== drawing) return;
      // A view whose markup could not be fetched (offline before the service worker had it): the journal stays.
      const shown = ui.$(`view-${view}`) ? view : 'journal';
      for (const v of VIEWS) if (ui.$(`view-${v}`)) ui.show(ui.$(`view-${v}`), v === shown);
      const form = ui.$(`view-${shown}`).querySelector('.card:not([hidden]):not([data-inline])');
      if (form) form.scrollIntoView({ block: 'start' }); // a form opened on the way here (journal → problem)
    });
  }

  formOf('journal', ctx).open(null);

  async function deviceEnded() {
    syncer.stop();
    const left = await (await import('./signout.js')).keepOnlyUnsent(session, db);
    if (left) await refresh();
    else {
      ended = true;
      ui.show(ui.$('field-body'), false);
    }
    ui.show(ui.$('account'), false);
    ui.askLogin('signedOut');
  }

  syncer = new Syncer(db, session); // it keeps the village's people (for the pickers) in meta, from its answers
  ctx.syncer = syncer;
  syncer.addEventListener('change', (event) => {
    if (event.detail.people) { // a form opened once it says "synced" has them
      ctx.people = event.detail.people;
      ui.setPeople(ctx.people);
    }
    refresh();
  });
  syncer.addEventListener('status', async (event) => {
    if (event.detail.status === 'relogin') {
      if (DEVICE_ENDED.has(event.detail.code)) {
        ctx.signedOut ||= deviceEnded();
        return;
      }
      // Everything stays; the next login asks for a new device instead of naming this one.
      setSession({ ...session, stale: event.detail.code || true }).catch(() => {});
    }
    if (event.detail.status === 'synced') { // a sync that brought nothing does not redraw (see sync.js)
      if (ui.today() !== drawnOn) await refresh();
      // "Synced" is never said while a refused entry waits for a fix.
      ui.renderStatus({ ...event.detail, rejected: await counts(event.detail.at) });
      tidy().catch(() => {}).finally(() => sendPhotosNow()); // what leaves the phone is not fetched first
    } else ui.renderStatus(event.detail);
    // Background Sync fires at once when the browser thinks it is online, so ask only when it is not;
    // network errors while "online" are retried by the backoff timer instead.
    if (event.detail.status === 'offline') requestBackgroundSync();
  });
  ui.$('sync-now').addEventListener('click', () => syncer.sync(true));
  ui.$('photos-send').addEventListener('click', () => sendPhotosNow(true));
  ui.$('photos-auto').addEventListener('click', () => photosChosen('auto'));
  ui.$('photos-manual').addEventListener('click', () => photosChosen('manual'));
  navigator.connection?.addEventListener?.('change', () => sendPhotosNow());
  addEventListener('offline', () => drawWaitingPhotos()); // "send now" cannot, without signal
  addEventListener('hashchange', route);

  wireAccount(ctx);
  ui.$('search-open').addEventListener('click', () => import('./search.js').then((m) => m.start(ctx, VIEW_OF)), { once: true });
  ui.showBody();
  await route();
  storageReport().then(ui.renderStorage).catch(() => {});
  // Tokens of earlier logouts without signal are revoked first; signout.js (also what logging out needs) is
  // loaded only when there are some, so the first load does without it.
  getShared(PENDING_LOGOUTS).then((pending) => pending
    && import('./signout.js').then((m) => m.sendPendingLogoutsNowAndOnline())).catch(() => {});
  syncer.start();
}

main().catch((error) => ui.renderStatus({ status: 'error', message: String(error) }));
