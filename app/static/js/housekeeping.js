// Keeping the phone's store small: what is finished, on the server as the phone has it, and old leaves the
// phone (the server keeps it; the township's pages and the reports read it there). A record stays while it is
// open, waits to be sent, was refused, has conflicts to acknowledge, or anyone touched it within the window:
// the last `weeks` weeks and the current and previous calendar month (Beijing time), which the monthly report
// and the "this week" views read. A record goes with its comments, its attachment records and their photos,
// and only if every one of them may go too; a record that a kept one links to (a request's meeting, a
// problem's source) stays with it.
import { inTx, req } from './db.js';
import { milestone } from './schema.js';
import { dayOf, today as beijingToday } from './ui.js';

const LINKS = ['source_id', 'meeting_id', 'problem_id'];
const DATED = new Set(['journal', 'meeting']); // no status: done once their day is past

function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// The first day that is still kept: the earlier of `weeks` weeks ago and the first of last month.
export function windowStart(today, weeks) {
  const [y, m] = today.split('-').map(Number);
  const lastMonth = m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, '0')}-01`;
  const back = addDays(today, -7 * weeks);
  return back < lastMonth ? back : lastMonth;
}

// The Beijing day of the last change anyone made that this phone knows of (its own, or the server's).
const lastDay = (rec) => [rec.localAt, rec.updatedAt, rec.reachedAt, rec.createdAt]
  .filter(Boolean).map(dayOf).sort().pop() || '';

function closed(rec) {
  if (rec.deleted) return true;
  if (DATED.has(rec.type)) return true; // with its date checked against the window in old()
  return (milestone(rec.type) || []).includes(rec.fields.status);
}

function sorted(records, photos) {
  const kids = new Map();
  const add = (id, item) => kids.set(id, [...(kids.get(id) || []), item]);
  for (const r of records) {
    if (r.type === 'review') add(r.fields.target_id, r);
    if (r.type === 'attachment') add(r.fields.owner_id, r);
  }
  const bytes = new Map();
  for (const p of photos) bytes.set(p.owner, [...(bytes.get(p.owner) || []), p]);
  return { kids, bytes };
}

// What prune would delete: {records: [ids], photos: [ids]}, from the stores' contents.
export function chooseOld({ records, outbox, photos }, first) {
  const waiting = new Set(outbox.map((op) => op.id));
  const settled = (r) => (!r.state || r.state === 'confirmed') && r.version !== null && r.version !== undefined
    && !waiting.has(r.id) && !(r.conflicts && r.conflicts.length);
  // A journal or meeting also by its own date (one planned ahead is not past).
  const old = (r) => lastDay(r) < first && (!DATED.has(r.type) || r.deleted || !r.fields.date || r.fields.date < first);
  const { kids, bytes } = sorted(records, photos);
  const byId = new Map(records.map((r) => [r.id, r]));
  const goes = new Set();
  for (const r of records) {
    if (r.type === 'review' || r.type === 'attachment') continue;
    const all = kids.get(r.id) || [];
    if (settled(r) && closed(r) && old(r) && all.every((k) => settled(k) && old(k))
        && (bytes.get(r.id) || []).every((p) => p.state === 'done')) goes.add(r.id);
  }
  // A record a kept one links to stays (and so on, down the links).
  for (let more = true; more;) {
    more = false;
    for (const r of records) {
      if (goes.has(r.id) || r.type === 'review' || r.type === 'attachment') continue;
      for (const link of LINKS) {
        if (goes.delete(r.fields[link])) more = true;
      }
    }
  }
  // Comments and attachment records whose record is no longer on the phone go once they are old themselves.
  const orphan = (r) => (r.type === 'review' || r.type === 'attachment')
    && !byId.has(r.type === 'review' ? r.fields.target_id : r.fields.owner_id) && settled(r) && old(r);
  const unsent = new Set(photos.filter((p) => p.state !== 'done').map((p) => p.id));
  const ids = [...goes];
  for (const id of goes) ids.push(...(kids.get(id) || []).map((k) => k.id));
  ids.push(...records.filter((r) => orphan(r) && !unsent.has(r.id)).map((r) => r.id));
  const gone = new Set(ids);
  const photoGoes = (p) => goes.has(p.owner) || (gone.has(p.id) && p.state === 'done');
  return { records: ids, photos: photos.filter(photoGoes).map((p) => p.id) };
}

// Delete from the user's database what is closed, confirmed and older than the window; returns the counts.
export async function prune(db, { weeks = 8, today = beijingToday() } = {}) {
  const first = windowStart(today, weeks);
  return inTx(db, ['records', 'outbox', 'photos'], 'readwrite', async (tx) => {
    const stores = {
      records: await req(tx.objectStore('records').getAll()),
      outbox: await req(tx.objectStore('outbox').getAll()),
      photos: await req(tx.objectStore('photos').getAll()),
    };
    const { records, photos } = chooseOld(stores, first);
    for (const id of records) tx.objectStore('records').delete(id);
    for (const id of photos) tx.objectStore('photos').delete(id);
    return { records: records.length, photos: photos.length };
  });
}
