// The month's 驻村纪实 on the phone, drawn from the replica (no server call), so it works offline. It counts
// what the township's record counts (app/reports/monthly.py): only what the server has confirmed, as the
// server has it, milestones by the server's moment in Beijing time.
import { milestone } from './schema.js';
import { $, clone, dayOf, dayText, personName, t, today } from './ui.js';

export const confirmed = (rec) => Boolean(rec.server);
// The day (Beijing time) a record reached its milestone (resolved, answered, done) on the server, by its
// `reached_at`; a record pulled before `reached_at` existed falls back to its reply date or its last change.
export function reachedOn(rec) {
  if (!confirmed(rec) || !milestone(rec.type).includes(rec.server.status)) return '';
  return dayOf(rec.reachedAt) || (rec.type === 'request' && rec.server.replied_on) || dayOf(rec.updatedAt);
}
// A task counts once it reached the village (the phone has no other) and never when withdrawn.
export const counts = (rec) => rec.type !== 'task' || rec.server.gate !== 'withdrawn';
export const reached = (rec, within) => within(reachedOn(rec)) && counts(rec);

export const FIGURES = ['days_in_village', 'journals', 'visits', 'problems_resolved', 'requests_answered',
  'tasks_done'];

export const monthOf = (day) => (day || '').slice(0, 7);
export function shiftMonth(month, by) {
  const [year, number] = month.split('-').map(Number);
  const index = year * 12 + number - 1 + by;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}
function monthText(month) {
  const lang = document.documentElement.lang || 'zh-CN';
  return new Intl.DateTimeFormat(lang, { timeZone: 'UTC', year: 'numeric', month: 'long' })
    .format(new Date(`${month}-01T00:00:00Z`));
}

// The month's confirmed journals, in the record's order: by date, then as they were written.
export function monthJournals(data, month) {
  return data.journal.filter((r) => confirmed(r) && monthOf(r.server.date) === month)
    .sort((a, b) => a.server.date.localeCompare(b.server.date) || (a.createdAt || '').localeCompare(b.createdAt || '')
      || a.id.localeCompare(b.id));
}

// The figures of the record. The residency's days are the secretary's (a cadre lives in the village anyway):
// the distinct dates of journals written by a secretary, never a check-in.
export function monthFigures(data, month, people) {
  const roles = new Map((people || []).map((p) => [p.username, p.role]));
  const journals = monthJournals(data, month);
  const bySecretary = journals.filter((r) => roles.get(r.author) === 'secretary');
  const inMonth = (day) => monthOf(day) === month;
  const done = (type) => data[type].filter((r) => reached(r, inMonth)).length;
  return {
    days_in_village: new Set(bySecretary.map((r) => r.server.date)).size,
    journals: journals.length,
    visits: journals.reduce((n, r) => n + (r.server.visits || 0), 0),
    problems_resolved: done('problem'),
    requests_answered: done('request'),
    tasks_done: done('task'),
  };
}

function journalItem(rec) {
  const f = rec.server;
  const item = clone('tpl-month-journal');
  item.dataset.id = rec.id;
  item.querySelector('.mj-head').textContent = `${dayText(f.date, true)} · ${personName(rec.author)}`;
  const facts = [f.visits !== null && f.visits !== undefined && t('m.visitFact', { n: f.visits }),
    f.places && t('m.places', { places: f.places })].filter(Boolean).join(' · ');
  for (const [name, text] of [['.mj-facts', facts], ['.mj-text', f.text], ['.mj-reflection', f.reflection]]) {
    const el = item.querySelector(name);
    el.textContent = text || '';
    el.hidden = !text;
  }
  return item;
}

let shown = null; // the month on screen, this month until another is chosen
let last = null; // what it was drawn from, to redraw on ← and →

function link(month) {
  const url = (format) => `/reports/monthly?${new URLSearchParams({ month, ...(format ? { format } : {}) })}`;
  $('month-online').href = url();
  $('month-docx').href = url('docx');
}

export function drawMonth(data, ctx) {
  const thisMonth = monthOf(today());
  if (!last) {
    $('month-prev').addEventListener('click', () => { shown = shiftMonth(shown, -1); drawMonth(last.data, last.ctx); });
    $('month-next').addEventListener('click', () => { shown = shiftMonth(shown, 1); drawMonth(last.data, last.ctx); });
  }
  last = { data, ctx };
  shown = shown && shown <= thisMonth ? shown : thisMonth;
  $('month-record').dataset.month = shown;
  $('month-label').textContent = monthText(shown);
  $('month-prev').textContent = `← ${monthText(shiftMonth(shown, -1))}`;
  $('month-next').textContent = `${monthText(shiftMonth(shown, 1))} →`;
  $('month-next').hidden = shown >= thisMonth; // like the township's record, no month to come
  const figures = monthFigures(data, shown, ctx.people);
  $('month-days').textContent = t('m.days', { n: figures.days_in_village });
  $('month-figures').replaceChildren(...FIGURES.map((name) => {
    const row = clone('tpl-month-figure');
    row.querySelector('th').textContent = t(`m.${name}`);
    Object.assign(row.querySelector('td'), { textContent: String(figures[name]) }).dataset.figure = name;
    return row;
  }));
  $('month-journals').replaceChildren(...monthJournals(data, shown).map(journalItem));
  link(shown);
}
