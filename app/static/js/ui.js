// Drawing the field page from local data. All text comes from the server-rendered page (translated).
const $ = (id) => document.getElementById(id);
const STRINGS = JSON.parse($('strings').textContent);
const LANG = (document.documentElement.lang || 'zh-CN').replace(/_/g, '-');
const ZONE = 'Asia/Shanghai';

export function t(key, vars = {}) {
  return (STRINGS[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

export function today() {
  const parts = new Intl.DateTimeFormat('en', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

function when(iso) {
  const options = { timeZone: ZONE, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  let format;
  try { format = new Intl.DateTimeFormat(LANG, options); } catch (e) { format = new Intl.DateTimeFormat('zh-CN', options); }
  return format.format(new Date(iso));
}

function bytes(n) {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

const show = (el, on) => { el.hidden = !on; };

export function renderList(records, me, onEdit) {
  const list = $('journal-list');
  const tpl = $('journal-item');
  list.replaceChildren(...records.map((rec) => {
    const item = tpl.content.firstElementChild.cloneNode(true);
    const f = rec.fields;
    const state = rec.state || 'confirmed';
    item.dataset.id = rec.id;
    item.dataset.state = state;
    item.querySelector('.entry-date').textContent = f.date || '';
    const chip = item.querySelector('.chip');
    chip.textContent = t(state);
    chip.classList.add(`chip-${state}`);
    item.querySelector('.entry-text').textContent = f.text || '';
    const meta = [];
    if (Number.isInteger(f.visits)) meta.push(t('visits', { n: f.visits }));
    if (f.places) meta.push(f.places);
    if (rec.author && rec.author !== me) meta.push(t('by', { name: rec.author }));
    item.querySelector('.entry-meta').textContent = meta.join(' · ');
    if (state === 'rejected') {
      const error = item.querySelector('.entry-error');
      const code = rec.error && `error.${rec.error.code}`;
      const reason = STRINGS[code] || (rec.error && rec.error.message) || t('rejected');
      error.textContent = `${reason} ${t('fixHint')}`;
      show(error, true);
    }
    if (rec.conflicts && rec.conflicts.length) {
      const conflict = item.querySelector('.entry-conflict');
      conflict.textContent = t('conflict');
      show(conflict, true);
    }
    if (!rec.author || rec.author === me) {
      const edit = item.querySelector('.entry-edit');
      show(edit, true);
      edit.addEventListener('click', () => onEdit(rec));
    }
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
