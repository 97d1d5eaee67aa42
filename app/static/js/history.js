// A record's history (留痕), built by the server from its op log: fetched when opened with a connection;
// the last copy is kept on the phone, so it can be shown offline, with the time it was fetched.
import { getMeta, setMeta } from './db.js';
import { $, clone, has, label, personName, show, t, value, when } from './ui.js';

// The thread of comments as the server had it when the history was fetched.
async function drawReviews(reviews) {
  show($('history-thread'), reviews.length > 0);
  if (!reviews.length) return $('history-reviews').replaceChildren();
  const { message } = await import('./thread.js');
  const names = new Map(reviews.map((r) => [r.id, r.author]));
  $('history-reviews').replaceChildren(...reviews.map((r) => message({ id: r.id, author: r.author, at: r.created_at,
    comment: r.comment, decision: r.decision, replyTo: r.reply_to }, names)));
}

function draw(rec, entries, reviews = []) {
  drawReviews(reviews);
  $('history-list').replaceChildren(...entries.map((entry) => {
    const item = clone('tpl-history');
    item.querySelector('.h-at').textContent = when(entry.at || entry.received_at);
    item.querySelector('.h-user').textContent = personName(entry.user);
    const chip = item.querySelector('.h-status');
    chip.textContent = has(`h.${entry.status}`) ? t(`h.${entry.status}`) : entry.status;
    chip.classList.add(`chip-h-${entry.status}`);
    const lines = Object.entries(entry.changes || {}).map(([field, v]) => t('fieldValue', { label: label(rec.type, field), value: value(rec.type, field, v) }));
    for (const c of entry.conflicts || []) {
      lines.push(t('h.conflict', { field: label(rec.type, c.field), kept: value(rec.type, c.field, c.kept),
        lost: value(rec.type, c.field, c.lost) }));
    }
    if (entry.ack) {
      item.classList.add('h-ack');
      lines.push(t('h.ack'));
    }
    if (!lines.length) lines.push(t('h.nothing'));
    item.querySelector('.h-changes').replaceChildren(...lines.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }));
    return item;
  }));
}

export async function open(rec, ctx) {
  const dialog = $('history');
  const note = $('history-note');
  const key = `history:${rec.type}:${rec.id}`;
  $('history-close').onclick = () => dialog.close();
  let saved = await getMeta(ctx.db, key);
  draw(rec, saved ? saved.history : [], (saved && saved.reviews) || []);
  note.textContent = t('h.loading');
  if (!dialog.open) dialog.showModal();
  let fresh = false;
  if (navigator.onLine) {
    try {
      const response = await fetch(`/api/history/${rec.type}/${rec.id}`, {
        credentials: 'omit', cache: 'no-store', headers: { Authorization: `Bearer ${ctx.session.token}` },
      });
      if (response.ok) {
        const body = await response.json();
        saved = { at: new Date().toISOString(), history: body.history || [], reviews: body.reviews || [] };
        await setMeta(ctx.db, key, saved);
        draw(rec, saved.history, saved.reviews);
        fresh = true;
      }
    } catch (error) { /* offline after all: show the kept copy */ }
  }
  note.dataset.fresh = String(fresh);
  note.textContent = saved ? t(fresh ? 'h.fetched' : 'h.cached', { time: when(saved.at) }) : t('h.none');
}
