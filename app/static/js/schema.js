// The server's merge table (GET /api/schema, generated from sync/types.py), kept on this phone for offline
// use. Forms, checks, defaults, status buttons, orders, milestones and labels all come from it, so the phone
// never saves what the server would refuse for a reason it could have known.
import { getMeta, setMeta } from './db.js';
import { chars, has, t, thisWeek, today, weekDays } from './ui.js';

let S = null;
let role = null;

async function fetchSchema(lang, kept) {
  const response = await fetch(`/api/schema?lang=${encodeURIComponent(lang)}`, {
    credentials: 'omit', headers: kept ? { 'If-None-Match': `"${kept.version}-${kept.lang}"` } : {},
  });
  if (response.status === 304) return kept;
  if (!response.ok) throw new Error(`schema: HTTP ${response.status}`);
  return response.json();
}

// The kept copy at once (refreshed in the background when there is a connection); fetched the first time.
// A copy in another language (the language was switched offline) is better than no forms at all.
export async function loadSchema(db, pageLang, userRole) {
  role = userRole;
  const lang = pageLang.replace('-', '_');
  const kept = await getMeta(db, 'schema');
  const same = kept && kept.lang === lang ? kept : null;
  const fresh = navigator.onLine || !kept ? fetchSchema(lang, same).then(async (s) => {
    if (s !== kept) await setMeta(db, 'schema', s);
    S = s;
    return s;
  }) : null;
  if (same || (kept && !fresh)) {
    S = kept;
    if (fresh) fresh.catch(() => {});
    return S;
  }
  try {
    return await fresh;
  } catch (error) {
    if (!kept) throw error;
    S = kept;
    return S;
  }
}

const typeOf = (type) => S.types[type];
const spec = (type, field) => S.types[type].fields[field];
export const fieldSpec = (type, field) => S.types[type] && S.types[type].fields[field];
const labels = (type) => S.labels.types[type];

export const fieldLabel = (type, field) => labels(type).fields[field] || field;
export const typeLabel = (type) => labels(type).label;
export const order = (type, field = 'status') => (spec(type, field) && spec(type, field).values) || [];
export const milestone = (type) => typeOf(type).milestone;
export const promptFor = (field) => S.labels.prompts[field];
export function valueLabel(type, field, v) {
  const values = labels(type).values[field];
  return values && v in values ? values[v] : null;
}

const mayWrite = (type, s) => s.writers.includes(role) && !s.township_only;
// The fields this user sends for a type (a township's dispatch-gate fields are never the phone's).
export const writable = (type) => Object.keys(typeOf(type).fields).filter((f) => mayWrite(type, spec(type, f)));

const RESOLVE = { today: () => today(), this_week: () => thisWeek().week, origin: () => (S.roles.field.includes(role) ? 'village' : 'township') };
// A new record's values before anything is typed, as the server would set them.
export function defaults(type) {
  const out = {};
  for (const [field, s] of Object.entries(typeOf(type).fields)) {
    if ('default' in s) out[field] = RESOLVE[s.default] ? RESOLVE[s.default]() : s.default;
  }
  return out;
}

// The status moves this user may make on a record, as buttons: [{field, from, to, need, fresh, dated, label}].
export function moves(rec) {
  const out = [];
  for (const rule of typeOf(rec.type).statuses) {
    if (!mayWrite(rec.type, spec(rec.type, rule.field))) continue;
    const from = rec.fields[rule.field] || rule.initial;
    for (const to of rule.moves[from] || []) {
      if (rule.roles[to] && !rule.roles[to].includes(role)) continue;
      const renewed = rule.needs_new.find((n) => n.from === from && n.to === to);
      const need = renewed ? renewed.field : rule.needs[to];
      const names = labels(rec.type).moves;
      out.push({ field: rule.field, from, to, need, fresh: Boolean(renewed), dated: rule.dated[to],
        label: names[`${from}|${to}`] || names[to] || to });
    }
  }
  return out;
}

function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// The dates a date (or week) field may take today: [first, last], either may be null.
export function dateWindow(type, field) {
  const s = spec(type, field);
  const day = today();
  return [s.days_back == null ? null : addDays(day, -s.days_back), s.days_ahead == null ? null : addDays(day, s.days_ahead)];
}

const empty = (v) => v === null || v === undefined || v === '';

// What is wrong with one value, in words that name the limit, or null.
export function problemWith(type, field, v) {
  const s = spec(type, field);
  const name = fieldLabel(type, field);
  if (empty(v)) return s.required ? t('check.required', { field: name }) : null;
  if (s.kind === 'text' || s.kind === 'user') {
    if (typeof v !== 'string' || v.includes('\u0000')) return t('check.invalid', { field: name });
    const over = chars(v) - s.max_length;
    return over > 0 ? t('check.tooLong', { field: name, max: s.max_length, over }) : null;
  }
  if (s.kind === 'int') {
    if (!Number.isInteger(v)) return t('check.integer', { field: name });
    return v < s.minimum || v > s.maximum ? t('check.range', { field: name, min: s.minimum, max: s.maximum }) : null;
  }
  if (s.kind === 'date' || s.kind === 'week') {
    const days = s.kind === 'week' ? weekDays(v) : (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) ? [v, v] : null);
    if (!days) return t(s.kind === 'week' ? 'check.week' : 'check.date', { field: name });
    const [first, last] = dateWindow(type, field);
    if ((first && days[1] < first) || (last && days[0] > last)) {
      return t('check.dateRange', { field: name, first: first || '…', last: last || '…' });
    }
    return null;
  }
  if (s.values && !s.values.includes(v)) return t('check.invalid', { field: name });
  return null;
}

// Every problem of the values about to be saved over `before` (the record as it is), by field. A value that
// is unchanged is not checked again (a due date that has since fallen out of the window stays as it was).
export function check(type, values, before = {}) {
  const out = {};
  for (const [field, v] of Object.entries(values)) {
    if (!spec(type, field) || (before[field] ?? null) === (v ?? null) && !empty(v)) continue;
    const problem = problemWith(type, field, v);
    if (problem) out[field] = problem;
  }
  const after = { ...before, ...values };
  for (const rule of typeOf(type).statuses) {
    const need = rule.needs[after[rule.field]];
    if (need && empty(after[need]) && need in values && !out[need]) out[need] = t('check.required', { field: fieldLabel(type, need) });
  }
  if (!Object.keys(before).length) {
    for (const [field, s] of Object.entries(typeOf(type).fields)) {
      if (s.required && empty(after[field]) && mayWrite(type, s)) out[field] = t('check.required', { field: fieldLabel(type, field) });
    }
  }
  return out;
}

// Why the server refused a saved record, in the same words the form uses (naming the limit), else by its code.
export function explain(rec) {
  const error = rec.error || {};
  const field = error.field;
  if (field && spec(rec.type, field)) {
    const problem = problemWith(rec.type, field, rec.fields[field]);
    if (problem) return problem;
  }
  const key = error.code && `error.${error.code}`;
  return key && has(key) ? t(key) : error.message || t('rejected');
}
