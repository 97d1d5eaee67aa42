// Problems, the pavilion (meetings and residents' requests), tasks and the week. Loaded when one of these
// views is first opened; everything is drawn from the phone's records, so it all works offline.
import { uuid } from './db.js';
import { $, clone, dayOf, decorate, label, problemFrom, show, t, thisWeek, today, value } from './ui.js';

// The status moves a village user may make, as buttons; `need` is asked for (and sent with the move).
const MOVE = {
  problem: { start: { to: 'in_progress' }, resolve: { to: 'resolved', need: 'resolution', keep: 1 },
    back: { to: 'open' }, reopen: { to: 'open', need: 'reopen_reason' } },
  request: { accept: { to: 'accepted' }, answer: { to: 'answered', need: 'reply', keep: 1, date: 'replied_on' },
    close: { to: 'closed' } },
  task: { start: { to: 'in_progress' }, done: { to: 'done', need: 'note', keep: 1 }, redo: { to: 'in_progress' } },
};
const ALLOWED = {
  problem: { open: ['start', 'resolve'], in_progress: ['resolve', 'back'], resolved: ['reopen'], verified: ['reopen'] },
  request: { recorded: ['accept', 'answer'], accepted: ['answer'], answered: ['close'] },
  task: { received: ['start', 'done'], in_progress: ['done'], done: ['redo'] },
};
const ORDER = {
  problem: ['open', 'in_progress', 'resolved', 'verified'],
  request: ['recorded', 'accepted', 'answered', 'closed'],
  task: ['received', 'in_progress', 'done'],
};
const rank = (rec) => ORDER[rec.type].indexOf(rec.fields.status);
const newest = (a, b) => (b.createdAt || '').localeCompare(a.createdAt || '');
const dueFirst = (a, b) => (a.fields.due || '9').localeCompare(b.fields.due || '9');
const byId = (list) => new Map(list.map((r) => [r.id, r]));
// The day a record last changed (on the server, or here if later).
const changedOn = (rec) => dayOf([rec.updatedAt, rec.localAt].filter(Boolean).sort().pop());
// The states that count in Friday's review, and the day a record reached them: the server's `reached_at`
// (the moment the township's weekly report counts too); a move made on this phone and not confirmed yet
// counts from when it was made; a record pulled before `reached_at` existed falls back to its last change
// (a request to its reply date).
const REACHED = { problem: ['resolved', 'verified'], request: ['answered', 'closed'], task: ['done'] };
function reachedOn(rec) {
  const states = REACHED[rec.type];
  if (!states.includes(rec.fields.status)) return '';
  if (!rec.server || !states.includes(rec.server.status)) return rec.state === 'rejected' ? '' : dayOf(rec.localAt);
  return dayOf(rec.reachedAt) || (rec.type === 'request' && rec.fields.replied_on) || changedOn(rec);
}

// A small modal asking for the text a move needs (and a date, for a reply).
function ask({ title, text, need, date }) {
  const dialog = $('prompt');
  const form = $('prompt-form');
  const el = form.elements;
  $('prompt-title').textContent = title;
  $('prompt-label').textContent = label(need);
  el.text.value = text || '';
  show($('prompt-date'), Boolean(date));
  el.date.value = date || '';
  show($('prompt-error'), false);
  dialog.showModal();
  return new Promise((resolve) => {
    const finish = (result) => {
      form.onsubmit = dialog.onclose = $('prompt-cancel').onclick = null;
      if (dialog.open) dialog.close();
      resolve(result);
    };
    form.onsubmit = (event) => {
      event.preventDefault();
      const v = el.text.value.trim();
      if (!v) {
        $('prompt-error').textContent = t('required');
        show($('prompt-error'), true);
        return el.text.focus();
      }
      finish({ text: v, date: el.date.value || today() });
    };
    $('prompt-cancel').onclick = () => finish(null);
    dialog.onclose = () => finish(null);
  });
}

async function move(rec, name, ctx) {
  const m = MOVE[rec.type][name];
  const values = { status: m.to };
  if (m.need) {
    const answer = await ask({ title: t(`move.${rec.type}.${name}`), need: m.need,
      text: m.keep && rec.fields[m.need], date: m.date && (rec.fields[m.date] || today()) });
    if (!answer) return;
    values[m.need] = answer.text;
    if (m.date) values[m.date] = answer.date;
  }
  await ctx.save(rec.type, rec.id, values);
  ctx.message(t('saved'));
}

// A request becomes a problem: the problem, and the request linked to it (accepted if it was only
// recorded), are saved in one transaction.
async function requestToProblem(rec, ctx) {
  const f = rec.fields;
  const id = uuid();
  await ctx.saveMany([
    { type: 'problem', id, values: { ...problemFrom(f.content), category: f.category || null, source_type: 'request', source_id: rec.id } },
    { type: 'request', id: rec.id, values: { problem_id: id, ...(f.status === 'recorded' ? { status: 'accepted' } : {}) } },
  ]);
  ctx.message(t('madeProblem'));
}

// ---- forms ----

const forms = {};
const fresh = {
  problem: () => ({ status: 'open' }),
  request: () => ({ status: 'recorded' }),
  meeting: () => ({ date: today() }),
  task: () => ({ status: 'received', week: thisWeek().week }),
};

function options(select, items, current) {
  const keep = select.options[0];
  const list = items.map(([v, text]) => new Option(text, v));
  if (current && !items.some(([v]) => v === current)) list.push(new Option(current, current));
  select.replaceChildren(keep, ...list);
}

function formOf(type, ctx) {
  if (forms[type]) return forms[type];
  const card = $(`${type}-card`);
  const form = $(`${type}-form`);
  const error = $(`${type}-error`);
  const title = card.querySelector('.form-title');
  const inputs = () => [...form.querySelectorAll('[name]')].filter((i) => i.name !== 'id');

  function open(rec, preset = {}) {
    form.reset();
    show(error, false);
    const f = rec ? rec.fields : { ...fresh[type](), ...preset };
    form.elements.id.value = rec ? rec.id : '';
    for (const select of form.querySelectorAll('[data-people]')) {
      options(select, ctx.people.map((p) => [p.username, p.username]), f[select.name]);
    }
    for (const select of form.querySelectorAll('[data-meetings]')) {
      options(select, ctx.data.meeting.map((m) => [m.id, `${m.fields.date || ''} ${m.fields.topic || ''}`]), f[select.name]);
    }
    for (const input of inputs()) {
      if (input.type === 'checkbox') input.checked = Boolean(f[input.name]);
      else input.value = f[input.name] ?? '';
    }
    for (const el of form.querySelectorAll('[data-when]')) show(el, el.dataset.when.split(' ').includes(f.status));
    for (const input of form.querySelectorAll('[data-own]')) input.readOnly = f.origin === 'township';
    title.textContent = rec ? title.dataset.editTitle : title.dataset.newTitle;
    show(card, true);
    card.scrollIntoView({ block: 'start' });
  }

  function fail(message, input) {
    error.textContent = message;
    show(error, true);
    input.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(error, false);
    const values = {};
    for (const input of inputs()) {
      if (input.readOnly || input.closest('[hidden]')) continue;
      const raw = input.value.trim();
      if (input.type === 'checkbox') values[input.name] = input.checked;
      else if (input.type === 'number') values[input.name] = raw === '' ? null : Number(raw);
      else values[input.name] = raw || null;
      if (input.required && !raw) return fail(t('required'), input);
      if (input.type === 'number' && raw && !(Number.isInteger(values[input.name]) && values[input.name] >= 0)) {
        return fail(t('numberInvalid'), input);
      }
    }
    if (type === 'meeting' && !values.date) values.date = today();
    const button = form.querySelector('[type=submit]');
    button.disabled = true;
    try {
      await ctx.save(type, form.elements.id.value || null, values);
      show(card, false);
      ctx.message(t('saved'));
    } catch (e) {
      fail(String(e), button);
    } finally {
      button.disabled = false;
    }
  });
  form.querySelector('.form-cancel').addEventListener('click', () => show(card, false));
  forms[type] = { open };
  return forms[type];
}

export function edit(rec, ctx) {
  formOf(rec.type, ctx).open(rec);
}

// ---- lists ----

function fill(item, rec, ctx, editable = true) {
  for (const el of item.querySelectorAll('[data-f]')) {
    const v = rec.fields[el.dataset.f];
    el.hidden = v === null || v === undefined || v === '';
    if (!el.hidden) (el.querySelector('.v') || el).textContent = value(rec.type, el.dataset.f, v);
  }
  for (const el of item.querySelectorAll('[data-flag]')) el.hidden = !rec.fields[el.dataset.flag];
  item.dataset.status = rec.fields.status || '';
  decorate(item, rec, ctx, editable);
  const closed = rec.state === 'rejected' || !editable;
  const allowed = closed ? [] : (ALLOWED[rec.type] || {})[rec.fields.status] || [];
  for (const button of item.querySelectorAll('[data-move]')) {
    show(button, allowed.includes(button.dataset.move));
    button.addEventListener('click', () => move(rec, button.dataset.move, ctx));
  }
  return item;
}

function list(id, items) {
  $(id).replaceChildren(...items);
}

function problems(data, ctx) {
  const filter = $('problem-filter').value;
  const journals = byId(data.journal);
  const keep = (r) => filter === 'all' || r.fields.status === filter
    || (filter === 'active' && ['open', 'in_progress'].includes(r.fields.status));
  list('problem-list', data.problem.filter(keep)
    .sort((a, b) => Boolean(b.fields.urgent) - Boolean(a.fields.urgent) || rank(a) - rank(b) || dueFirst(a, b) || newest(a, b))
    .map((rec) => {
      const item = fill(clone('problem-item'), rec, ctx);
      const { source_type: type, source_id: id } = rec.fields;
      const source = item.querySelector('.source');
      if (type) {
        const journal = type === 'journal' && journals.get(id);
        source.textContent = journal ? t('fromJournal', { date: journal.fields.date || '' }) : t(`source.${type}`);
        show(source, true);
      }
      return item;
    }));
}

function pavilion(data, ctx) {
  const meetings = byId(data.meeting);
  list('request-list', data.request.sort((a, b) => rank(a) - rank(b) || newest(a, b)).map((rec) => {
    const f = rec.fields;
    const item = fill(clone('request-item'), rec, ctx);
    const meeting = f.meeting_id && meetings.get(f.meeting_id);
    if (meeting) {
      item.querySelector('.meeting').textContent = t('atMeeting', { date: meeting.fields.date || '', topic: meeting.fields.topic || '' });
      show(item.querySelector('.meeting'), true);
    }
    show(item.querySelector('.linked'), Boolean(f.problem_id));
    const convert = item.querySelector('.to-problem');
    show(convert, !f.problem_id && f.status !== 'closed' && rec.state !== 'rejected');
    convert.addEventListener('click', () => requestToProblem(rec, ctx));
    const mark = item.querySelector('.livelihood');
    mark.setAttribute('aria-pressed', String(Boolean(f.livelihood_project)));
    mark.addEventListener('click', () => ctx.save('request', rec.id, { livelihood_project: !f.livelihood_project }));
    return item;
  }));
  list('meeting-list', data.meeting.sort((a, b) => (b.fields.date || '').localeCompare(a.fields.date || '') || newest(a, b))
    .map((rec) => {
      const item = fill(clone('meeting-item'), rec, ctx);
      const n = data.request.filter((r) => r.fields.meeting_id === rec.id).length;
      item.querySelector('.count').textContent = t('requestCount', { n });
      show(item.querySelector('.count'), n > 0);
      item.querySelector('.add-request').addEventListener('click', () => formOf('request', ctx).open(null, { meeting_id: rec.id }));
      return item;
    }));
}

function inWeek(date, w) {
  return Boolean(date) && date >= w.monday && date <= w.sunday;
}

// ---- tasks: the township's, in one inbox above the village's own plan ----

const fromTownship = (r) => r.fields.origin === 'township';
// The gate is the township's: the server's word counts, even over a change of ours it refused.
const withdrawn = (r) => ((r.server && r.server.gate) || r.fields.gate) === 'withdrawn';
const isOpen = (r) => !withdrawn(r) && r.fields.status !== 'done';
// Open tasks first (the ones assigned to me before the rest), then done ones, withdrawn ones last.
const inboxRank = (r, me) => (withdrawn(r) ? 3 : r.fields.status === 'done' ? 2 : r.fields.assignee === me ? 0 : 1);
const sentFirst = (a, b) => (b.fields.sent_on || '').localeCompare(a.fields.sent_on || '');

// Flag a township task (标记问题): what is wrong with it, in a few words. The approver's answer comes back
// as a comment on the task.
function flagTask(rec, ctx) {
  const dialog = $('flag');
  const form = $('flag-form');
  const el = form.elements;
  const error = $('flag-error');
  form.reset();
  $('flag-about').textContent = rec.fields.title || '';
  for (const radio of form.querySelectorAll('[name=flag]')) radio.checked = radio.value === rec.fields.flag;
  el.flag_note.value = rec.fields.flag_note || '';
  show(error, false);
  show($('flag-clear'), Boolean(rec.fields.flag));
  const finish = () => {
    form.onsubmit = dialog.onclose = $('flag-cancel').onclick = $('flag-clear').onclick = null;
    if (dialog.open) dialog.close();
  };
  const fail = (message, input) => {
    error.textContent = message;
    show(error, true);
    input.focus();
  };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const flag = el.flag.value;
    const note = el.flag_note.value.trim();
    if (!flag) return fail(t('flagKindRequired'), form.querySelector('[name=flag]'));
    if (!note) return fail(t('required'), el.flag_note);
    finish();
    await ctx.save('task', rec.id, { flag, flag_note: note });
    ctx.message(t('flagSaved'));
  };
  $('flag-clear').onclick = async () => {
    finish();
    await ctx.save('task', rec.id, { flag: null, flag_note: null });
    ctx.message(t('saved'));
  };
  $('flag-cancel').onclick = finish;
  dialog.onclose = finish;
  dialog.showModal();
}

function inboxItem(rec, ctx, kept) {
  const f = rec.fields;
  const gone = withdrawn(rec);
  const item = fill(clone('inbox-item'), rec, ctx, !gone);
  item.dataset.gate = gone ? 'withdrawn' : f.gate || '';
  if (gone && rec.state === 'rejected') item.querySelector('.entry-error').textContent = t('withdrawnHint');
  item.dataset.flag = f.flag || '';
  item.querySelector('.item-code').textContent = f.item_code || '';
  if (f.item_name) show(item.querySelector('[data-f=offlist_reason]'), false);
  show(item.querySelector('.badge-withdrawn'), gone);
  if (gone) show(item.querySelector('.status'), false); // withdrawn says it all
  show(item.querySelector('.badge-mine'), Boolean(f.assignee) && f.assignee === ctx.me);
  const flag = item.querySelector('.task-flag');
  show(flag, Boolean(f.flag));
  if (f.flag) {
    flag.querySelector('.badge-flag').textContent = t('flagged', { kind: value('task', 'flag', f.flag) });
    flag.querySelector('.flag-note').textContent = f.flag_note || '';
  }
  const more = item.querySelector('.more');
  show(more, !gone); // a withdrawn task takes no more actions
  if (gone) return item;
  // The secretary hands the task to one of the village's people.
  const assign = item.querySelector('.assign');
  const select = assign.elements.assignee;
  show(assign, ctx.session.user.role === 'secretary' && f.status !== 'done');
  options(select, ctx.people.map((p) => [p.username, p.username]), f.assignee);
  select.value = f.assignee || '';
  assign.addEventListener('submit', async (event) => {
    event.preventDefault();
    more.open = false;
    const assignee = select.value || null;
    if (assignee !== (f.assignee || null)) await ctx.save('task', rec.id, { assignee });
    ctx.message(t('saved'));
  });
  item.querySelector('.flag-open').addEventListener('click', () => flagTask(rec, ctx));
  // A menu's button does its thing and closes the menu.
  more.querySelector('.more-body').addEventListener('click', (event) => {
    if (event.target.closest('button[type=button]')) more.open = false;
  });
  // A redraw (every sync) keeps an open menu open, and a pick not yet saved.
  if (kept.has(rec.id)) {
    more.open = true;
    select.value = kept.get(rec.id);
  }
  return item;
}

function inbox(data, ctx) {
  const kept = new Map([...$('inbox-list').querySelectorAll('details.more[open]')]
    .map((d) => [d.closest('.entry').dataset.id, d.querySelector('select').value]));
  const all = data.task.filter(fromTownship);
  list('inbox-list', all
    .sort((a, b) => inboxRank(a, ctx.me) - inboxRank(b, ctx.me) || dueFirst(a, b) || sentFirst(a, b) || newest(a, b))
    .map((rec) => inboxItem(rec, ctx, kept)));
  const open = all.filter(isOpen).length;
  $('inbox-count').textContent = open ? t('inboxOpen', { n: open }) : '';
}

function tasks(data, ctx) {
  inbox(data, ctx);
  const w = thisWeek();
  const now = (r) => (r.fields.week === w.week || inWeek(r.fields.due, w) ? 0 : 1);
  list('task-list', data.task.filter((r) => !fromTownship(r))
    .sort((a, b) => now(a) - now(b) || (a.fields.status === 'done') - (b.fields.status === 'done') || dueFirst(a, b) || newest(a, b))
    .map((rec) => {
      const item = fill(clone('task-item'), rec, ctx);
      item.classList.toggle('this-week', now(rec) === 0);
      return item;
    }));
}

function lines(id, records, text, meta, hash) {
  list(id, records.map((rec) => {
    const li = clone('tpl-line');
    li.dataset.id = rec.id;
    const main = li.querySelector('.l-main');
    main.textContent = text(rec);
    main.href = hash;
    li.querySelector('.l-meta').textContent = meta(rec);
    return li;
  }));
}

// Monday's plan and Friday's review, made from what is already on the phone: nothing is typed twice.
function week(data) {
  const w = thisWeek();
  $('week-label').textContent = `${w.week} (${w.monday.slice(5)} – ${w.sunday.slice(5)})`;
  const status = (r) => value(r.type, 'status', r.fields.status);
  const open = (r) => ['open', 'in_progress'].includes(r.fields.status);
  lines('plan-tasks', data.task.filter((r) => isOpen(r) && (r.fields.week === w.week || inWeek(r.fields.due, w)))
    .sort(dueFirst), (r) => r.fields.title, (r) => [status(r), r.fields.due, r.fields.assignee].filter(Boolean).join(' · '), '#tasks');
  lines('plan-problems', data.problem.filter((r) => open(r) && (r.fields.urgent || (r.fields.due && r.fields.due <= w.sunday)))
    .sort((a, b) => Boolean(b.fields.urgent) - Boolean(a.fields.urgent) || dueFirst(a, b)),
  (r) => r.fields.title, (r) => [r.fields.urgent && t('urgent'), status(r), r.fields.due, r.fields.owner].filter(Boolean).join(' · '), '#problems');

  const journals = data.journal.filter((r) => inWeek(r.fields.date, w));
  const done = data.task.filter((r) => inWeek(reachedOn(r), w));
  const resolved = data.problem.filter((r) => inWeek(reachedOn(r), w));
  const answered = data.request.filter((r) => inWeek(reachedOn(r), w));
  lines('review-journals', journals, (r) => (r.fields.text || '').split('\n')[0], (r) => r.fields.date, '#journal');
  lines('review-tasks', done, (r) => r.fields.title, (r) => r.fields.note || '', '#tasks');
  lines('review-problems', resolved, (r) => r.fields.title, (r) => r.fields.resolution || '', '#problems');
  lines('review-requests', answered, (r) => r.fields.content, (r) => r.fields.reply || '', '#pavilion');
  const visits = journals.reduce((n, r) => n + (r.fields.visits || 0), 0);
  $('review-sum').textContent = t('weekSum', { journals: journals.length, visits, tasks: done.length,
    problems: resolved.length, requests: answered.length });
}

let ready = false;

export function render(view, data, ctx) {
  ctx.data = data;
  if (!ready) {
    ready = true;
    for (const button of document.querySelectorAll('[data-new]')) {
      button.addEventListener('click', () => formOf(button.dataset.new, ctx).open(null));
    }
    $('problem-filter').addEventListener('change', () => ctx.refresh());
  }
  ({ problems, pavilion, tasks, week })[view](data, ctx);
}
