// Friday's review in words: the sentences that open the township's weekly report (app/reports/summary.py),
// made on the phone from the replica with the same rules and the same catalog's words, ready to read out.
// Open and waiting are counted as they stood at the end of the week (or now, if sooner).
import { confirmed, reached, reachedOn } from './monthly.js';
import { dayOf, t, today } from './ui.js';

const MOST_NAMED = 5; // urgent problems named before "等 N 个"
const MOST_QUOTED = 3; // follow-up comments quoted
const QUOTE_LENGTH = 30;
const FIELD_ROLES = ['secretary', 'cadre'];

const createdOn = (rec) => dayOf(rec.createdAt);
const oldestFirst = (a, b) => (a.createdAt || '').localeCompare(b.createdAt || '') || a.id.localeCompare(b.id);
const daysBetween = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / 864e5);
function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

// A comment's first line, shortened, in quotation marks (counted in characters, as Python counts them).
function quote(text) {
  const line = (text || '').split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/).map((p) => p.trim()).find(Boolean) || '';
  const chars = [...line];
  return chars.length > QUOTE_LENGTH ? `“${chars.slice(0, QUOTE_LENGTH).join('')}…”` : `“${line}”`;
}

const duration = (days) => (days ? t('s.days', { n: days }) : t('s.lessThanDay'));
const age = (days) => (days ? t('s.age', { n: days }) : t('s.justRaised'));

function done(data, village, within) {
  const journals = data.journal.filter((r) => confirmed(r) && within(r.server.date));
  const created = (type) => data[type].filter((r) => confirmed(r) && within(createdOn(r))).length;
  const finished = (type) => data[type].filter((r) => reached(r, within)).length;
  const parts = [
    ['s.journals', journals.length],
    ['s.visits', journals.reduce((n, r) => n + (r.server.visits || 0), 0)],
    ['s.opened', created('problem')],
    ['s.resolved', finished('problem')],
    ['s.recorded', created('request')],
    ['s.answered', finished('request')],
    ['s.tasks', finished('task')],
  ];
  const clauses = parts.filter(([, n]) => n).map(([key, n]) => t(key, { n })).join(t('s.clauses'));
  return clauses ? t('s.village', { village, done: clauses }) : null;
}

// Still open at the cutoff (the end of the week, or now): made before it and not at its milestone before it.
// A day is before the cutoff when it is earlier than `limit`, the day after the last one before it.
const openAt = (rec, { limit }) => confirmed(rec) && createdOn(rec) < limit
  && !(reachedOn(rec) && reachedOn(rec) < limit);

function urgentOpen(data, cutoff) {
  const open = data.problem.filter((r) => openAt(r, cutoff) && r.server.urgent).sort(oldestFirst);
  if (!open.length) return [];
  const named = open.slice(0, MOST_NAMED)
    .map((r) => t('s.urgentOne', { title: r.server.title, age: age(daysBetween(createdOn(r), cutoff.day)) }))
    .join(t('s.names'));
  return [t(open.length > MOST_NAMED ? 's.urgentMore' : 's.urgent', { n: open.length, problems: named })];
}

function waitingRequests(data, cutoff) {
  const waiting = data.request.filter((r) => openAt(r, cutoff)).sort(oldestFirst);
  if (!waiting.length) return [];
  const days = duration(daysBetween(createdOn(waiting[0]), cutoff.day));
  return [waiting.length === 1 ? t('s.waitingOne', { days }) : t('s.waiting', { n: waiting.length, days })];
}

// The township's 需跟进 comments of the week, and whether the village replied (at any time since).
function followUps(data, people, within) {
  const roles = new Map((people || []).map((p) => [p.username, p.role]));
  const reviews = data.review.filter(confirmed);
  const asked = reviews.filter((r) => r.server.decision === 'follow_up' && within(createdOn(r))).sort(oldestFirst);
  if (!asked.length) return [];
  const ids = new Set(asked.map((r) => r.id));
  const fromVillage = (r) => FIELD_ROLES.includes(roles.get(r.author));
  const answered = new Set(reviews.filter((r) => ids.has(r.server.reply_to) && fromVillage(r)).map((r) => r.server.reply_to));
  let quoted = asked.slice(0, MOST_QUOTED).map((r) => quote(r.server.comment)).join(t('s.names'));
  if (asked.length > MOST_QUOTED) quoted = t('s.andMore', { items: quoted });
  const n = asked.length;
  const out = [t('s.followUps', { n, comments: quoted })];
  if (answered.size === n) out.push(t('s.allAnswered', { n }));
  else if (!answered.size) out.push(t('s.noneAnswered', { n }));
  else out.push(t('s.someAnswered', { answered: answered.size, waiting: n - answered.size }));
  return out;
}

// The sentences for one village and a week ({monday, sunday}), as weekly_summary([village], week) has them.
export function weeklySummary(data, { village, people }, week) {
  const within = (day) => Boolean(day) && day >= week.monday && day <= week.sunday;
  const end = nextDay(week.sunday); // next Monday 00:00, Beijing time
  const now = today();
  // The cutoff's day (the server's `_local_day(cutoff)`), and the first day not before it.
  const cutoff = now < end ? { day: now, limit: nextDay(now) } : { day: end, limit: end };
  return [done(data, village, within) || t('s.none'), ...urgentOpen(data, cutoff), ...waitingRequests(data, cutoff),
    ...followUps(data, people, within)];
}

// Read out as one paragraph, like the report: Chinese sentences run on, others are spaced.
const zh = () => (document.documentElement.lang || 'zh').startsWith('zh');
export const paragraph = (sentences) => sentences.join(zh() ? '' : ' ');
