// The comments (批注) on a record: the township's comments and the village's replies, oldest first, and a
// reply box. A reply is a `review` record saved like every other entry (its op and the local record in one
// IndexedDB transaction), so it can be written offline and shows waiting, sent, confirmed or rejected.
// Opening a thread marks its comments read on this phone: meta "seen" maps a comment's id to the version
// read, so a comment the township edits later counts as new again. Loaded when a thread is first opened.
import { getMeta, inTx, req } from './db.js';
import { explain, problemWith } from './schema.js';
import { $, clone, personName, preview, show, t, value, when } from './ui.js';

let target = null; // the record whose thread is open
let fresh = new Set(); // the comments that were unread when it was opened
let wired = false;

function about(rec) {
  return t(`about.${rec.type}`, { date: (rec.fields || {}).date || '', title: preview(rec, 80) });
}

// One message: m = {id, author, at, comment, decision, replyTo, state?, error?}; `names` maps ids to authors.
export function message(m, names, actions = {}) {
  const li = clone('tpl-review');
  li.dataset.id = m.id;
  li.querySelector('.r-author').textContent = personName(m.author);
  li.querySelector('.r-at').textContent = m.at ? when(m.at) : '';
  li.querySelector('.r-text').textContent = m.comment || '';
  const decision = li.querySelector('.r-decision');
  if (m.decision) {
    li.dataset.decision = m.decision;
    decision.textContent = value('review', 'decision', m.decision);
    decision.classList.add(`d-${m.decision}`);
    show(decision, true);
  }
  const to = li.querySelector('.r-to');
  if (m.replyTo && names.has(m.replyTo)) {
    to.textContent = t('replyTo', { name: personName(names.get(m.replyTo)) });
    show(to, true);
  }
  if (m.state) { // our own reply: its sync state, as on every item
    li.dataset.state = m.state;
    const chip = li.querySelector('.chip');
    chip.textContent = t(m.state);
    chip.classList.add(`chip-${m.state}`);
    show(chip, true);
  }
  if (m.state === 'rejected') {
    const error = li.querySelector('.entry-error');
    error.textContent = explain({ type: 'review', fields: { comment: m.comment }, error: m.error });
    show(error, true);
  }
  for (const [cls, fn] of [['.r-reply', actions.reply], ['.r-discard', actions.discard]]) {
    const button = li.querySelector(cls);
    show(button, Boolean(fn));
    if (fn) button.addEventListener('click', fn);
  }
  return li;
}

const fromRecord = (r) => ({ id: r.id, author: r.author, at: r.updatedAt || r.createdAt, comment: r.fields.comment,
  decision: r.fields.decision, replyTo: r.fields.reply_to, state: r.state || 'confirmed', error: r.error });

function setTarget(list, id) {
  const form = $('reply-form');
  const to = list.find((r) => r.id === id);
  form.elements.reply_to.value = to ? to.id : '';
  $('reply-target').textContent = to
    ? t('replyingTo', { name: personName(to.author), text: (to.fields.comment || '').slice(0, 60) }) : '';
}

// Remember the versions read; true when something was new.
async function markSeen(ctx, list) {
  const others = list.filter((r) => r.author && r.author !== ctx.me);
  return inTx(ctx.db, 'meta', 'readwrite', async (tx) => {
    const meta = tx.objectStore('meta');
    const seen = (await req(meta.get('seen'))) || {};
    let changed = false;
    for (const r of others) {
      if ((seen[r.id] || 0) < (r.version || 1)) {
        seen[r.id] = r.version || 1;
        changed = true;
      }
    }
    if (changed) meta.put(seen, 'seen');
    return changed;
  });
}

export async function draw(ctx) {
  if (!target) return;
  const rec = (ctx.byId && ctx.byId.get(target.id)) || target;
  const list = ctx.data.review.filter((r) => r.fields.target_id === target.id);
  const names = new Map(list.map((r) => [r.id, r.author]));
  $('thread-about').textContent = about(rec);
  const others = list.filter((r) => r.author && r.author !== ctx.me);
  $('thread-list').replaceChildren(...list.map((r) => {
    const mine = !r.author || r.author === ctx.me;
    const li = message(mine ? fromRecord(r) : { ...fromRecord(r), state: null }, names, {
      reply: !mine && others.length > 1 && (() => { // which comment the reply answers, when there is a choice
        setTarget(list, r.id);
        $('reply-form').elements.comment.focus();
      }),
      discard: mine && r.state === 'rejected' && (() => ctx.discard(r)),
    });
    li.classList.toggle('r-mine', mine);
    li.classList.toggle('r-new', fresh.has(r.id));
    return li;
  }));
  const form = $('reply-form');
  show(form, list.length > 0);
  if (!list.some((r) => r.id === form.elements.reply_to.value)) {
    setTarget(list, (others[others.length - 1] || list[list.length - 1] || {}).id);
  }
  if (await markSeen(ctx, list)) await ctx.refresh();
}

function wire(ctx) {
  if (wired) return;
  wired = true;
  const dialog = $('thread');
  const form = $('reply-form');
  const error = $('reply-error');
  $('thread-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => { target = null; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(error, false);
    const comment = form.elements.comment.value.trim();
    const problem = comment ? problemWith('review', 'comment', comment) : t('replyRequired');
    if (problem) {
      error.textContent = problem;
      show(error, true);
      return form.elements.comment.focus();
    }
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    try {
      await ctx.save('review', null, { target_type: target.type, target_id: target.id, comment,
        reply_to: form.elements.reply_to.value || null });
      form.elements.comment.value = '';
      ctx.message(t('replySaved'));
    } catch (e) {
      error.textContent = String(e);
      show(error, true);
    } finally {
      button.disabled = false;
    }
  });
}

export async function open(rec, ctx) {
  wire(ctx);
  target = { type: rec.type, id: rec.id, fields: rec.fields };
  const seen = (await getMeta(ctx.db, 'seen')) || {};
  fresh = new Set(ctx.data.review.filter((r) => r.fields.target_id === rec.id && r.author && r.author !== ctx.me
    && (seen[r.id] || 0) < (r.version || 1)).map((r) => r.id));
  const form = $('reply-form');
  form.reset();
  form.elements.reply_to.value = '';
  show($('reply-error'), false);
  await draw(ctx);
  if (!$('thread').open) $('thread').showModal();
}
