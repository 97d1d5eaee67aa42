// Drawing the field page from local data. All text comes from the server-rendered page (translated), all
// markup from its <template> elements.
export const $ = (id) => document.getElementById(id);
const STRINGS = JSON.parse($('strings').textContent);
const LANG = (document.documentElement.lang || 'zh-CN').replace(/_/g, '-');
const ZONE = 'Asia/Shanghai';

export function t(key, vars = {}) {
  return (STRINGS[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}
export const has = (key) => key in STRINGS;

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
// The date (Asia/Shanghai) of an ISO time.
export function dayOf(iso) {
  return iso ? new Date(iso).toLocaleDateString('en-CA', { timeZone: ZONE }) : '';
}

export function when(iso) {
  const options = { timeZone: ZONE, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  let format;
  try { format = new Intl.DateTimeFormat(LANG, options); } catch (e) { format = new Intl.DateTimeFormat('zh-CN', options); }
  return format.format(new Date(iso));
}

function bytes(n) {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

export const show = (el, on) => { el.hidden = !on; };

// A problem made from a text (a journal entry, a request): its first line is the title, all of it the detail.
export function problemFrom(text = '') {
  const all = text.trim();
  const title = all.split('\n')[0].trim().slice(0, 200);
  return { title, detail: all !== title ? all : null };
}

export function clone(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

// A field's value as people read it.
export function value(type, field, v) {
  if (v === null || v === undefined || v === '') return t('empty');
  if (typeof v === 'boolean') return t(v ? 'yes' : 'no');
  if (field === 'status' && has(`st.${type}.${v}`)) return t(`st.${type}.${v}`);
  if (field === 'source_type' && has(`type.${v}`)) return t(`type.${v}`);
  if (has(`v.${type}.${field}.${v}`)) return t(`v.${type}.${field}.${v}`); // other enums (a task's flag, gate)
  if (/_id$/.test(field)) return t('linkedRecord');
  return String(v);
}
export const label = (field) => (has(`f.${field}`) ? t(`f.${field}`) : field);

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
  if (state === 'rejected') {
    const code = rec.error && `error.${rec.error.code}`;
    const reason = has(code) ? t(code) : (rec.error && rec.error.message) || t('rejected');
    error.textContent = `${reason} ${t('fixHint')}`;
  }
  show(error, state === 'rejected');
  const conflicts = rec.conflicts || [];
  show(item.querySelector('.badge-conflict'), conflicts.length > 0);
  const box = item.querySelector('.conflict');
  show(box, conflicts.length > 0);
  if (conflicts.length) {
    box.querySelector('.conflict-list').replaceChildren(...conflicts.map((c) => {
      const row = clone('tpl-conflict-row');
      row.querySelector('.c-field').textContent = label(c.field);
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
  on('.entry-edit', editable && (() => ctx.edit(rec)));
  on('.entry-discard', state === 'rejected' && (() => ctx.discard(rec)));
  on('.entry-history', rec.version && (() => ctx.history(rec)));
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
    if (rec.author && rec.author !== ctx.me) meta.push(t('by', { name: rec.author }));
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

export function renderCounts(waiting, lastSync) {
  $('sync-waiting').textContent = t('waitingCount', { n: waiting });
  $('sync-waiting').classList.toggle('has-waiting', waiting > 0);
  $('sync-last').textContent = lastSync ? t('lastSync', { time: when(lastSync) }) : t('neverSynced');
}

const STATUS = { syncing: 'syncing', synced: 'synced', offline: 'offline', retry: 'retry', serverError: 'serverError' };

export function renderStatus({ status, seconds, message }) {
  const el = $('sync-status');
  el.dataset.status = status;
  if (status === 'relogin') return askLogin('relogin');
  if (status === 'error') el.textContent = `${message || ''} ${seconds ? t('retry', { s: seconds }) : ''}`.trim();
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

// The journal form: read and validate, fill for editing, reset for a new entry.
export function journalForm({ onSave }) {
  const form = $('journal-form');
  const error = $('journal-error');
  const saved = $('journal-saved');
  const cancel = $('journal-cancel');
  const el = form.elements;

  function reset() {
    form.reset();
    el.id.value = '';
    el.date.value = today();
    $('form-title').textContent = t('newTitle');
    show(cancel, false);
  }

  function edit(rec) {
    const f = rec.fields;
    el.id.value = rec.id;
    el.date.value = f.date || today();
    el.text.value = f.text || '';
    el.visits.value = Number.isInteger(f.visits) ? String(f.visits) : '';
    el.places.value = f.places || '';
    el.reflection.value = f.reflection || '';
    $('form-title').textContent = t('editTitle');
    show(cancel, true);
    saved.textContent = '';
    form.scrollIntoView({ behavior: 'smooth', block: 'start' });
    el.text.focus({ preventScroll: true });
  }

  function fail(message, field) {
    error.textContent = message;
    show(error, true);
    field.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(error, false);
    saved.textContent = '';
    const text = el.text.value.trim();
    const visitsRaw = el.visits.value.trim();
    const visits = visitsRaw === '' ? null : Number(visitsRaw);
    if (!text) return fail(t('textRequired'), el.text);
    if (visits !== null && (!Number.isInteger(visits) || visits < 0)) return fail(t('visitsInvalid'), el.visits);
    const values = {
      date: el.date.value || today(),
      text,
      visits,
      places: el.places.value.trim() || null,
      reflection: el.reflection.value.trim() || null,
    };
    const button = $('journal-save');
    button.disabled = true;
    try {
      await onSave(el.id.value || null, values);
      reset();
      saved.textContent = t('saved');
    } catch (e) {
      fail(String(e), el.text);
    } finally {
      button.disabled = false;
    }
  });
  cancel.addEventListener('click', () => { reset(); saved.textContent = ''; });
  reset();
  return { edit };
}
