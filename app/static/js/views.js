// Problems, the pavilion (meetings and residents' requests), tasks and the week. Loaded when one of these
// views is first opened; everything is drawn from the phone's records, so it all works offline.
import { formOf, options, photosOf } from './forms.js';
import { confirmed, drawMonth, reached, reachedOn } from './monthly.js';
import { milestone, moves, order, problemWith, promptFor } from './schema.js';
import { paragraph, weeklySummary } from './summary.js';
import { $, clone, dayOf, decorate, label, personName, pickable, problemFrom, show, t, thisWeek, today, value, weekText } from './ui.js';

const rank = (rec) => order(rec.type).indexOf(rec.fields.status);
const finished = (rec) => milestone(rec.type).includes(rec.fields.status);
const newest = (a, b) => (b.createdAt || '').localeCompare(a.createdAt || '');
const dueFirst = (a, b) => (a.fields.due || '9').localeCompare(b.fields.due || '9');
const byId = (list) => new Map(list.map((r) => [r.id, r]));
// The week's figures count only what the server has confirmed (never a refused or unsent entry), at the
// moment the township's reports count too: monthly.js's `confirmed`, `reached` and `reachedOn`.

let promptPhotos = null;

// A small modal asking for the text a move needs (and a date, for a reply), and photos of the result where
// the move finishes the work.
function ask({ type, title, text, need, date, day, photos }) {
  const dialog = $('prompt');
  const form = $('prompt-form');
  const el = form.elements;
  promptPhotos ||= photosOf(form);
  promptPhotos.clear();
  show($('prompt-photos'), photos);
  $('prompt-title').textContent = title;
  $('prompt-label').textContent = label(type, need);
  el.text.value = text || '';
  show($('prompt-date'), Boolean(date));
  el.date.value = day || '';
  show($('prompt-error'), false);
  dialog.showModal();
  return new Promise((resolve) => {
    const finish = (result) => {
      form.onsubmit = dialog.onclose = $('prompt-cancel').onclick = null;
      if (dialog.open) dialog.close();
      resolve(result);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      const v = el.text.value.trim();
      // What the move needs is required here, whatever the field's own rule.
      const problem = (v ? problemWith(type, need, v) : t('check.required', { field: label(type, need) }))
        || (date && problemWith(type, date, el.date.value || null)) || (photos && (await promptPhotos.problem()));
      if (problem) {
        $('prompt-error').textContent = problem;
        show($('prompt-error'), true);
        return el.text.focus();
      }
      finish({ text: v, date: el.date.value || today() });
    };
    $('prompt-cancel').onclick = () => finish(null);
    dialog.onclose = () => finish(null);
  });
}

// A status move; what it needs (a resolution, a reason, a reply and its date) is asked for and sent with it,
// with the photos of the result taken there (not for a reopening: its photos come with the next finish).
async function move(rec, m, ctx) {
  const values = { [m.field]: m.to };
  let taken = { items: [], photos: [] };
  if (m.need) {
    const answer = await ask({ type: rec.type, title: promptFor(m.need) || m.label, need: m.need,
      text: m.fresh ? '' : rec.fields[m.need], date: m.dated, day: m.dated && (rec.fields[m.dated] || today()),
      photos: !m.fresh });
    if (!answer) return;
    values[m.need] = answer.text;
    if (m.dated) values[m.dated] = answer.date;
    if (!m.fresh) taken = await promptPhotos.saved(rec.type, rec.id);
  }
  await ctx.saveMany([{ type: rec.type, id: rec.id, values }, ...taken.items], taken.photos);
  ctx.message(t('saved'));
}

// A request becomes a problem: the problem form opens prefilled; saving it saves the problem and links the
// request to it (accepted if it was only recorded), in one transaction.
function requestToProblem(rec, ctx) {
  const f = rec.fields;
  formOf('problem', ctx).open(null, { ...problemFrom(f.content), category: f.category || null, source_type: 'request',
    source_id: rec.id }, { linked: (id) => [{ type: 'request', id: rec.id,
    values: { problem_id: id, ...(moves(rec).some((m) => m.to === 'accepted') ? { status: 'accepted' } : {}) } }] });
  location.hash = '#problems';
}

export function edit(rec, ctx) {
  formOf(rec.type, ctx).open(rec);
}

// A journal entry drafted into a problem (the form opens prefilled; nothing is made until it is saved).
export function draftProblem(rec, ctx) {
  formOf('problem', ctx).open(null, { ...problemFrom(rec.fields.text), source_type: 'journal', source_id: rec.id });
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
  const buttons = (closed ? [] : moves(rec)).map((m) => {
    const button = document.createElement('button');
    Object.assign(button, { type: 'button', textContent: m.label });
    button.dataset.move = m.to;
    button.addEventListener('click', () => move(rec, m, ctx));
    return button;
  });
  // Where a card has a menu for the rare actions, only the move that finishes the work stays outside it.
  const more = item.querySelector('.move-more');
  const main = more ? buttons.filter((b) => milestone(rec.type).includes(b.dataset.move)) : buttons;
  item.querySelector('.move-buttons').replaceChildren(...main);
  if (more) more.replaceChildren(...buttons.filter((b) => !main.includes(b)));
  return item;
}

function list(id, items) {
  $(id).replaceChildren(...items);
}

function problems(data, ctx) {
  const filter = $('problem-filter').value;
  const journals = byId(data.journal);
  const keep = (r) => filter === 'all' || r.fields.status === filter
    || (filter === 'active' && !finished(r));
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
const isOpen = (r) => !withdrawn(r) && !finished(r);
// Open tasks first (the ones assigned to me before the rest), then done ones, withdrawn ones last.
const inboxRank = (r, me) => (withdrawn(r) ? 3 : finished(r) ? 2 : r.fields.assignee === me ? 0 : 1);
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
    const problem = note ? problemWith('task', 'flag_note', note) : t('required');
    if (problem) return fail(problem, el.flag_note);
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
  show(assign, ctx.session.user.role === 'secretary' && !finished(rec));
  options(select, pickable(ctx.people), f.assignee);
  select.value = f.assignee || '';
  assign.addEventListener('submit', async (event) => {
    event.preventDefault();
    more.open = false;
    const assignee = select.value || null;
    if (assignee !== (f.assignee || null)) await ctx.save('task', rec.id, { assignee });
    ctx.message(t('saved'));
  });
  item.querySelector('.flag-open').addEventListener('click', () => flagTask(rec, ctx));
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

// Open tasks first, the soonest due first (those with no due date after the dated ones, by their plan week),
// done ones last.
const plannedFirst = (a, b) => (a.fields.week || '9').localeCompare(b.fields.week || '9');
const openFirst = (a, b) => finished(a) - finished(b) || dueFirst(a, b) || plannedFirst(a, b) || newest(a, b);

// Monday's plan: every open task that is the week's work. Due this week or overdue; planned for this week or
// an earlier one and not done (a plan week carries over until the task is done); or with neither a due date nor
// a week, which has no other week to wait for. A task due later than this week is in it only when planned for
// this very week.
function forThisWeek(r, w) {
  const { due, week: planned } = r.fields;
  return isOpen(r) && (due ? due <= w.sunday || planned === w.week : !planned || planned <= w.week);
}

function tasks(data, ctx) {
  inbox(data, ctx);
  const w = thisWeek();
  list('task-list', data.task.filter((r) => !fromTownship(r)).sort(openFirst).map((rec) => {
    const item = fill(clone('task-item'), rec, ctx);
    item.classList.toggle('this-week', forThisWeek(rec, w));
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
function week(data, ctx) {
  const w = thisWeek();
  $('week-label').textContent = weekText(w.week);
  const status = (r) => value(r.type, 'status', r.fields.status);
  const overdue = (r) => r.fields.due && r.fields.due < today() && t('overdue');
  lines('plan-tasks', data.task.filter((r) => forThisWeek(r, w)).sort(openFirst), (r) => r.fields.title,
    (r) => [overdue(r), status(r), r.fields.due, personName(r.fields.assignee)].filter(Boolean).join(' · '), '#tasks');
  lines('plan-problems', data.problem.filter((r) => !finished(r) && (r.fields.urgent || (r.fields.due && r.fields.due <= w.sunday)))
    .sort((a, b) => Boolean(b.fields.urgent) - Boolean(a.fields.urgent) || dueFirst(a, b)),
  (r) => r.fields.title, (r) => [r.fields.urgent && t('urgent'), status(r), r.fields.due, personName(r.fields.owner)].filter(Boolean).join(' · '), '#problems');

  // Friday's review lists this week's entries (a refused one never; one not confirmed yet is marked so);
  // its figures count only what the server has confirmed, as the server has it.
  const pending = (r) => (r.state || 'confirmed') !== 'confirmed';
  const shownOn = (r) => (!pending(r) ? reachedOn(r) : finished(r) && r.state !== 'rejected' ? dayOf(r.localAt) : '');
  const journalDay = (r) => (r.state === 'rejected' ? '' : r.fields.date);
  const mark = (r, text) => [text, pending(r) && t(r.state)].filter(Boolean).join(' · ');
  const listed = {
    journal: data.journal.filter((r) => inWeek(journalDay(r), w)),
    task: data.task.filter((r) => inWeek(shownOn(r), w)),
    problem: data.problem.filter((r) => inWeek(shownOn(r), w)),
    request: data.request.filter((r) => inWeek(shownOn(r), w)),
  };
  lines('review-journals', listed.journal, (r) => (r.fields.text || '').split('\n')[0], (r) => mark(r, r.fields.date), '#journal');
  lines('review-tasks', listed.task, (r) => r.fields.title, (r) => mark(r, r.fields.note), '#tasks');
  lines('review-problems', listed.problem, (r) => r.fields.title, (r) => mark(r, r.fields.resolution), '#problems');
  lines('review-requests', listed.request, (r) => r.fields.content, (r) => mark(r, r.fields.reply), '#pavilion');
  const journals = data.journal.filter((r) => confirmed(r) && inWeek(r.server.date, w));
  const counted = (type) => data[type].filter((r) => reached(r, (day) => inWeek(day, w))).length;
  const visits = journals.reduce((n, r) => n + (r.server.visits || 0), 0);
  $('review-sum').textContent = t('weekSum', { journals: journals.length, visits, tasks: counted('task'),
    problems: counted('problem'), requests: counted('request') });
  const waiting = Object.values(listed).flat().filter(pending).length;
  const refused = data.journal.filter((r) => r.state === 'rejected' && inWeek(r.fields.date, w)).length;
  $('review-pending').textContent = waiting + refused ? t('weekPending', { n: waiting + refused }) : '';
  show($('review-pending'), waiting + refused > 0);
  const village = (ctx.session.user.unit || {}).name || '';
  $('review-words').textContent = paragraph(weeklySummary(data, { village, people: ctx.people }, w));
  drawMonth(data, ctx);
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
