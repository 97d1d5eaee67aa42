// One form implementation for every record type. The template lays the form out (its controls carry the
// protocol's field names); the schema says what each field requires and allows, so the phone checks an entry
// with the server's own rules before saving it and says exactly what to fix. Nothing is cut silently: no
// `maxlength`, a counter says how much is left or over.
import { check, dateWindow, defaults, fieldSpec } from './schema.js';
import { uuid } from './db.js';
import { $, chars, pickable, show, t, today } from './ui.js';

const forms = {};

export function options(select, items, current) {
  const keep = select.options[0];
  const list = items.map(([v, text]) => new Option(text, v));
  if (current && !items.some(([v]) => v === current)) list.push(new Option(current, current));
  select.replaceChildren(keep, ...list);
}

const controls = (form) => [...form.querySelectorAll('[name]')].filter((i) => i.name !== 'id' && fieldSpec(form.dataset.type, i.name));

function counter(input, max) {
  let note = input.nextElementSibling;
  if (!note || !note.classList.contains('counter')) {
    note = document.createElement('span');
    note.className = 'counter';
    note.setAttribute('aria-live', 'polite');
    input.after(note);
  }
  const update = () => {
    const n = chars(input.value.trim());
    show(note, n > max * 0.8);
    note.textContent = n > max ? t('check.over', { n: n - max, max }) : t('check.left', { n: max - n });
    note.classList.toggle('over', n > max);
  };
  input.addEventListener('input', update);
  update();
  return update;
}

// The schema's rules on the controls: required marks, the bounds of dates and numbers (today's), counters.
function prepare(form) {
  const type = form.dataset.type;
  const updates = [];
  for (const input of controls(form)) {
    const s = fieldSpec(type, input.name);
    input.required = s.required;
    input.closest('label')?.classList.toggle('is-required', s.required);
    if (s.kind === 'int') Object.assign(input, { min: s.minimum, max: s.maximum });
    if (s.kind === 'date') {
      const [first, last] = dateWindow(type, input.name);
      if (first) input.min = first;
      if (last) input.max = last;
    }
    if (s.kind === 'text' && input.type !== 'checkbox') updates.push(counter(input, s.max_length));
  }
  return updates;
}

// The form's values as the protocol has them; a number that is not one stays NaN so the check names it.
function read(form) {
  const values = {};
  for (const input of controls(form)) {
    if (input.readOnly || input.closest('[hidden]')) continue;
    const raw = input.value.trim();
    if (input.type === 'checkbox') values[input.name] = input.checked;
    else if (input.type === 'number') values[input.name] = input.validity.badInput ? NaN : raw === '' ? null : Number(raw);
    else values[input.name] = raw || null;
  }
  // A day left empty is today, as on the server when the record was made (an edit must not clear it).
  for (const [name, v] of Object.entries(values)) {
    const s = fieldSpec(form.dataset.type, name);
    if (v === null && s.kind === 'date' && s.default === 'today') values[name] = today();
  }
  return values;
}

// A form's photos, or null when it takes none. photos.js (and its worker) load with the first photo taken, so the
// first screen's code stays small; until then there is nothing to clear, check or save.
export function photosOf(form) {
  if (!form.querySelector('.photos')) return null;
  let control = null;
  const load = () => (control ||= import('./photos.js').then((m) => m.photoControl(form)));
  for (const input of form.querySelectorAll('.photo-add input[type=file]')) {
    input.addEventListener('change', async () => {
      const files = [...input.files];
      input.value = '';
      (await load()).take(files);
    });
  }
  const none = { items: [], photos: [] };
  return {
    clear: () => control && control.then((c) => c.clear()),
    problem: async () => (control ? (await control).problem() : null),
    saved: async (type, id) => (control ? (await control).saved(type, id) : none),
  };
}

export function formOf(type, ctx) {
  if (forms[type]) return forms[type];
  const form = $(`${type}-form`);
  const card = form.closest('.card');
  const error = form.querySelector('.form-error');
  const saved = form.querySelector('.saved');
  const title = card.querySelector('.form-title');
  const cancel = form.querySelector('.form-cancel');
  const inline = card.hasAttribute('data-inline'); // the journal's form stays on its page, ready for the next entry
  let current = null;
  let also = null; // records saved with a new one, in the same transaction (a request linked to its problem)
  let carried = {}; // a new record's preset values that have no control (the journal a problem comes from)
  let counters = prepare(form);
  const photos = photosOf(form);

  function fail(problems) {
    const fields = Object.keys(problems);
    for (const input of controls(form)) input.setAttribute('aria-invalid', String(fields.includes(input.name)));
    error.replaceChildren(...fields.map((f) => Object.assign(document.createElement('span'), { textContent: problems[f] })));
    show(error, true);
    const first = controls(form).find((i) => fields.includes(i.name));
    (first || form.querySelector('[type=submit]')).focus();
  }

  function open(rec, preset = {}, { quiet = false, linked = null } = {}) {
    form.reset();
    photos?.clear();
    also = linked;
    const shown = new Set(controls(form).map((i) => i.name));
    carried = rec ? {} : Object.fromEntries(Object.entries(preset).filter(([name]) => !shown.has(name)));
    counters = prepare(form); // today's bounds
    show(error, false);
    if (saved && !quiet) saved.textContent = '';
    current = rec;
    const f = rec ? rec.fields : { ...defaults(type), ...preset };
    form.elements.id.value = rec ? rec.id : '';
    for (const select of form.querySelectorAll('[data-people]')) {
      options(select, pickable(ctx.people), f[select.name]);
    }
    for (const select of form.querySelectorAll('[data-meetings]')) {
      options(select, ctx.data.meeting.map((m) => [m.id, `${m.fields.date || ''} ${m.fields.topic || ''}`]), f[select.name]);
    }
    for (const input of controls(form)) {
      input.removeAttribute('aria-invalid');
      if (input.type === 'checkbox') input.checked = Boolean(f[input.name]);
      else input.value = f[input.name] ?? '';
    }
    for (const el of form.querySelectorAll('[data-when]')) show(el, el.dataset.when.split(' ').includes(f.status));
    for (const input of form.querySelectorAll('[data-own]')) input.readOnly = f.origin === 'township';
    title.textContent = rec ? title.dataset.editTitle : title.dataset.newTitle;
    show(cancel, !inline || Boolean(rec));
    for (const update of counters) update();
    show(card, true);
    if (rec || !inline) card.scrollIntoView({ block: 'start' });
    // A refused entry opens with the reason, so the fix is the first thing seen.
    if (rec && rec.state === 'rejected') {
      const problems = check(type, read(form), rec.server || {});
      if (Object.keys(problems).length) fail(problems);
    }
  }

  function close() {
    if (inline) open(null, {}, { quiet: true });
    else show(card, false);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(error, false);
    const values = { ...carried, ...read(form) };
    // Unchanged values are checked against the server's copy, so an old due date does not block an edit.
    const problems = check(type, values, (current && current.server) || {});
    const photoProblem = photos && (await photos.problem());
    if (photoProblem) problems.photos = photoProblem;
    if (Object.keys(problems).length) return fail(problems);
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    try {
      const id = current ? current.id : uuid();
      const taken = photos ? await photos.saved(type, id) : { items: [], photos: [] };
      const again = current && current.state === 'rejected' && ctx.refusedPhotos ? ctx.refusedPhotos(id) : [];
      await ctx.saveMany([{ type, id, values }, ...(also ? also(id) : []), ...again, ...taken.items], taken.photos);
      close();
      if (inline) saved.textContent = t('saved');
      else ctx.message(t('saved'));
    } catch (e) {
      fail({ _: String(e) });
    } finally {
      button.disabled = false;
    }
  });
  cancel.addEventListener('click', () => {
    close();
    if (saved) saved.textContent = '';
  });
  forms[type] = { open };
  return forms[type];
}
