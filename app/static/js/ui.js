// Drawing the field page from local data. All text comes from the server-rendered page (translated), all
// markup from its <template> elements.
import { explain, fieldLabel, fieldSpec, valueLabel } from './schema.js';

export const $ = (id) => document.getElementById(id);
const STRINGS = JSON.parse($('strings').textContent);
const LANG = (document.documentElement.lang || 'zh-CN').replace(/_/g, '-');
const ZONE = 'Asia/Shanghai';

const PLURAL = new Intl.PluralRules(LANG);

// A sentence by its key; one with a count picks its form for `vars.n` (key.one, key.other).
export function t(key, vars = {}) {
  const form = typeof vars.n === 'number' ? `${key}.${PLURAL.select(vars.n)}` : null;
  const text = STRINGS[form] ?? STRINGS[`${key}.other`] ?? STRINGS[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}
export const has = (key) => key in STRINGS || `${key}.other` in STRINGS;

export function today() {
  const parts = new Intl.DateTimeFormat('en', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

// ISO week of a YYYY-MM-DD date ("2026-W47"), and the Monday..Sunday dates of the current one.
export function isoWeek(date) {
  const d = new Date(`${date}T00:00:00Z`);
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const year = d.getUTCFullYear();
  const week = Math.ceil(((d - Date.UTC(year, 0, 1)) / 864e5 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
export function thisWeek() {
  const d = new Date(`${today()}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() || 7) - 1));
  const monday = d.toISOString().slice(0, 10);
  d.setUTCDate(d.getUTCDate() + 6);
  return { week: isoWeek(monday), monday, sunday: d.toISOString().slice(0, 10) };
}
// The Monday and Sunday of an ISO week ("2026-W47"), or null if it is not one.
export function weekDays(week) {
  const m = /^(\d{4})-W(\d{2})$/.exec(week || '');
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 53) return null;
  const jan4 = new Date(Date.UTC(Number(m[1]), 0, 4));
  const monday = new Date(jan4);
  monday.setUTCDate(jan4.getUTCDate() - ((jan4.getUTCDay() || 7) - 1) + 7 * (Number(m[2]) - 1));
  const day = monday.toISOString().slice(0, 10);
  if (isoWeek(day) !== week) return null; // week 53 of a year that has 52
  monday.setUTCDate(monday.getUTCDate() + 6);
  return [day, monday.toISOString().slice(0, 10)];
}
// Characters as the server counts them (code points, not UTF-16 units).
export const chars = (text) => [...text].length;
// The date (Asia/Shanghai) of an ISO time.
export function dayOf(iso) {
  return iso ? new Date(iso).toLocaleDateString('en-CA', { timeZone: ZONE }) : '';
}

function formatter(options) {
  try { return new Intl.DateTimeFormat(LANG, options); } catch (e) { return new Intl.DateTimeFormat('zh-CN', options); }
}
// A time in Beijing time on a 24-hour clock: 12月2日 15:05 (Dec 2, 15:05).
export function when(iso) {
  return formatter({ timeZone: ZONE, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(new Date(iso));
}
// A YYYY-MM-DD date as people read it: 11月30日 (Nov 30), with the year when it is not this year's.
export function dayText(date, withYear = date.slice(0, 4) !== today().slice(0, 4)) {
  const options = { timeZone: 'UTC', month: 'short', day: 'numeric', ...(withYear ? { year: 'numeric' } : {}) };
  return formatter(options).format(new Date(`${date}T00:00:00Z`));
}
// An ISO week as its dates: 11月30日–12月6日 (Nov 30 – Dec 6); what is not a week is shown as it is.
export function weekText(week) {
  const days = weekDays(week);
  if (!days) return week || '';
  const withYear = days[0].slice(0, 4) !== days[1].slice(0, 4) || days[0].slice(0, 4) !== today().slice(0, 4);
  return [dayText(days[0], withYear), dayText(days[1], withYear)].join(LANG.startsWith('zh') ? '–' : ' – ');
}

function bytes(n) {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

export const show = (el, on) => { el.hidden = !on; };

// A problem drafted from a text (a journal entry, a request): a short title from its first sentence, and
// the whole text as the detail. It only fills the form; nothing is made until the form is saved.
const TITLE_CHARS = 30;
export function problemFrom(text = '') {
  const all = text.trim();
  const first = all.split('\n')[0].split(/(?<=[。！？；!?;])/)[0].trim();
  const title = chars(first) > TITLE_CHARS ? `${[...first].slice(0, TITLE_CHARS).join('')}…` : first;
  return { title, detail: all || null };
}

export function clone(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

// A field's value as people read it: statuses and other enums by the schema's labels.
export function value(type, field, v) {
  if (v === null || v === undefined || v === '') return t('empty');
  if (typeof v === 'boolean') return t(v ? 'yes' : 'no');
  const named = valueLabel(type, field, v);
  if (named) return named;
  const kind = (fieldSpec(type, field) || {}).kind;
  if (kind === 'week') return weekText(v);
  if (kind === 'user') return personName(v);
  if (/_id$/.test(field)) return t('linkedRecord');
  return String(v);
}
export const label = (type, field) => fieldLabel(type, field);

// What every item shows, whatever its type: sync state, rejection with a way to fix it, open conflicts with
// "got it", and the buttons for edit and history. ctx: {me, edit, ack, discard, history}.
export function decorate(item, rec, ctx, editable = true) {
  const state = rec.state || 'confirmed';
  item.dataset.id = rec.id;
  item.dataset.state = state;
  const chip = item.querySelector('.chip');
  chip.textContent = t(state);
  chip.classList.add(`chip-${state}`);
  const on = (sel, fn) => {
    const el = item.querySelector(sel);
    show(el, Boolean(fn));
    if (fn) el.addEventListener('click', fn);
  };
  const error = item.querySelector('.entry-error');
  if (state === 'rejected') error.textContent = `${explain(rec)} ${t('fixHint')}`;
  show(error, state === 'rejected');
  const conflicts = rec.conflicts || [];
  show(item.querySelector('.badge-conflict'), conflicts.length > 0);
  const box = item.querySelector('.conflict');
  show(box, conflicts.length > 0);
  if (conflicts.length) {
    box.querySelector('.conflict-list').replaceChildren(...conflicts.map((c) => {
      const row = clone('tpl-conflict-row');
      row.querySelector('.c-field').textContent = label(rec.type, c.field);
      row.querySelector('.c-kept').textContent = value(rec.type, c.field, c.kept);
      row.querySelector('.c-lost').textContent = value(rec.type, c.field, c.lost);
      row.querySelector('.c-by').textContent = [c.by, c.at && when(c.at)].filter(Boolean).join(' · ');
      return row;
    }));
    box.querySelector('.conflict-ack').addEventListener('click', () => ctx.ack(rec));
  }
  const thread = ctx.threads && ctx.threads.get(rec.id);
  const strip = item.querySelector('.reviews');
  show(strip, Boolean(thread));
  if (thread) {
    strip.querySelector('.badge-review').textContent = t('reviewCount', { n: thread.n });
    show(strip.querySelector('.badge-follow'), thread.decision === 'follow_up');
    show(strip.querySelector('.badge-new'), thread.unread > 0);
    strip.querySelector('.review-last').textContent = thread.last;
    Object.assign(strip.dataset, { count: thread.n, unread: thread.unread, decision: thread.decision || '' });
    strip.addEventListener('click', () => ctx.thread(rec));
  }
  // A refused entry's fix is its common action: edit leaves the card's menu.
  if (state === 'rejected') item.querySelector('.more')?.before(item.querySelector('.entry-edit'));
  on('.entry-edit', editable && (() => ctx.edit(rec)));
  on('.entry-discard', state === 'rejected' && (() => ctx.discard(rec)));
  on('.entry-history', rec.version && (() => ctx.history(rec)));
  const photos = item.querySelector('.entry-photos');
  if (photos && ctx.drawPhotos) ctx.drawPhotos(photos, rec);
}

// Each record's comments (批注), by the record's id: how many, how many are unread (newer than the version
// seen on this phone, kept in IndexedDB), the latest decision, and the latest words from someone else.
export function threads(reviews, seen, me) {
  const out = new Map();
  for (const r of reviews) {
    const f = r.fields;
    const th = out.get(f.target_id) || { n: 0, unread: 0, decision: null, last: f.comment || '' };
    th.n += 1;
    if (f.decision) th.decision = f.decision;
    if (r.author && r.author !== me) {
      th.last = f.comment || '';
      if ((seen[r.id] || 0) < (r.version || 1)) th.unread += 1;
    }
    out.set(f.target_id, th);
  }
  return out;
}

export function renderReviews(n, open) {
  const el = $('sync-reviews');
  el.textContent = t('newReviews', { n });
  el.onclick = open;
  show(el, n > 0);
}

export function renderList(records, ctx) {
  const list = $('journal-list');
  const linked = new Set((ctx.problems || []).map((p) => p.fields.source_type === 'journal' && p.fields.source_id));
  list.replaceChildren(...records.map((rec) => {
    const item = clone('journal-item');
    const f = rec.fields;
    item.querySelector('.entry-date').textContent = f.date || '';
    item.querySelector('.entry-text').textContent = f.text || '';
    const meta = [];
    if (Number.isInteger(f.visits)) meta.push(t('visits', { n: f.visits }));
    if (f.places) meta.push(f.places);
    if (rec.author && rec.author !== ctx.me) meta.push(t('by', { name: personName(rec.author) }));
    if (linked.has(rec.id)) meta.push(t('madeProblem'));
    item.querySelector('.entry-meta').textContent = meta.join(' · ');
    decorate(item, rec, ctx, !rec.author || rec.author === ctx.me);
    const make = item.querySelector('.entry-problem');
    show(make, !linked.has(rec.id) && ctx.toProblem);
    make.addEventListener('click', () => ctx.toProblem(rec));
    return item;
  }));
  show($('journal-empty'), records.length === 0);
}

// The sync bar's counts. A refused entry is counted apart and never hidden behind "synced".
export function renderCounts(waiting, rejected, lastSync, openRejected) {
  $('sync-waiting').textContent = t('waitingCount', { n: waiting });
  $('sync-waiting').classList.toggle('has-waiting', waiting > 0);
  const refused = $('sync-rejected');
  refused.textContent = t('rejectedCount', { n: rejected });
  refused.onclick = openRejected;
  show(refused, rejected > 0);
  $('sync-last').textContent = lastSync ? t('lastSync', { time: when(lastSync) }) : t('neverSynced');
}

// The photos waiting for their bytes to go, and what keeps them: "send now" where they wait for Wi-Fi or a tap;
// `ask` where the browser cannot say what the connection is and the person has not said yet.
export function renderPhotos({ n, bytes: size, held }, ask) {
  show($('sync-photos'), n > 0);
  $('sync-photos-text').textContent = t('photosWaiting', { n, kb: Math.max(1, Math.round(size / 1024)) });
  show($('photos-send'), held && navigator.onLine);
  show($('photos-ask'), held && ask);
}

const STATUS = { syncing: 'syncing', synced: 'synced', offline: 'offline', retry: 'retry', serverError: 'serverError' };

export function renderStatus({ status, seconds, message, rejected = 0 }) {
  const el = $('sync-status');
  el.dataset.status = status;
  if (status === 'relogin') return askLogin('relogin');
  if (status === 'synced' && rejected) el.textContent = t('syncedButRejected', { n: rejected });
  else if (status === 'error') el.textContent = `${message || ''} ${seconds ? t('retry', { s: seconds }) : ''}`.trim();
  else el.textContent = STATUS[status] ? t(STATUS[status], { s: seconds }) : '';
  if (status === 'synced') show($('relogin'), false);
}

export function askLogin(key) {
  $('relogin-text').textContent = t(key);
  show($('relogin'), true);
}

export function showBody() {
  show($('field-body'), true);
}

export function showUpdate(apply) {
  const bar = $('update-bar');
  show(bar, true);
  $('update-apply').onclick = () => {
    $('update-apply').disabled = true;
    apply();
  };
}

export function renderStorage(report) {
  if (!report) return;
  const el = $('storage');
  const lines = [t('storage', { used: bytes(report.usage), quota: bytes(report.quota) })];
  if (report.low) lines.push(t('storageLow'));
  if (!report.persisted) lines.push(t('storageNotPersisted'));
  el.textContent = lines.join(' ');
  el.classList.toggle('warn', report.low);
}

// The field that names a record of each type, and a record in a few words (for a question about it).
export const TITLE = { journal: 'text', problem: 'title', meeting: 'topic', request: 'content', task: 'title', review: 'comment' };
export function preview(rec, most = 40) {
  const text = String(rec.fields[TITLE[rec.type]] || '').trim().split('\n')[0];
  return chars(text) > most ? `${[...text].slice(0, most).join('')}…` : text;
}

// Ask before doing something that deletes what a person typed; resolves true to go ahead. `no` names the
// other button when "keep it" does not fit.
export function confirm(question, yes, no) {
  const dialog = $('confirm');
  const keep = $('confirm-no');
  keep.dataset.label ||= keep.textContent;
  $('confirm-text').textContent = question;
  $('confirm-yes').textContent = yes;
  keep.textContent = no || keep.dataset.label;
  dialog.showModal();
  return new Promise((resolve) => {
    const finish = (answer) => {
      $('confirm-yes').onclick = $('confirm-no').onclick = dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    $('confirm-yes').onclick = () => finish(true);
    $('confirm-no').onclick = () => finish(false);
    dialog.onclose = () => finish(false);
  });
}

// "Discarded. Undo" for a while after a discard.
const UNDO_MS = 15000;
let undoTimer = null;
export function offerUndo(text, undo) {
  const bar = $('undo-bar');
  $('undo-text').textContent = text;
  const hide = () => { clearTimeout(undoTimer); show(bar, false); };
  $('undo-button').onclick = async () => {
    hide();
    await undo();
  };
  clearTimeout(undoTimer);
  undoTimer = setTimeout(hide, UNDO_MS);
  show(bar, true);
}

// People by the names pages show (张伟), from the people list each sync brings; the wire keeps usernames.
let names = new Map();
export function setPeople(list) {
  names = new Map((list || []).map((p) => [p.username, p.name || p.username]));
}
export const personName = (username) => (username ? names.get(username) || username : '');
// The village's people as [username, name] picker options (staff above the village are named, not offered).
export const pickable = (people) => (people || []).filter((p) => p.village !== false)
  .map((p) => [p.username, p.name || p.username]);
