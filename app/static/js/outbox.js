// The local replica and the outbox, for every record type. Each saved edit becomes an op; an op leaves the
// outbox only when the server's result for it has been stored. At most one op per record is in flight: a
// later edit of a record whose op was sent but not yet answered waits ("chain") and takes its base from
// that answer, so the server sees a clean sequence of versions instead of a self-made conflict.
// A status move is never folded into an earlier op: each move is its own op, so the server checks it
// from the state it really has, and the record's history shows every step.
import { inTx, req, uuid } from './db.js';
import { defaults, milestone, writable } from './schema.js';

const isSet = (v) => v !== null && v !== undefined && v !== '';

function filled(type, values) {
  const out = {};
  for (const k of writable(type)) if (isSet(values[k])) out[k] = values[k];
  return out;
}

function changed(type, values, from) {
  const out = {};
  for (const k of writable(type)) {
    if (k in values && (values[k] ?? null) !== (from?.[k] ?? null)) out[k] = values[k] ?? null;
  }
  return out;
}

// A chained op whose predecessor has been answered: base it on what the server now has.
function unchain(op, rec) {
  op.chain = false;
  if (rec.version === null || rec.version === undefined) {
    op.base = null; // the record never reached the server: this op creates it
    if (!op.ack) op.set = filled(rec.type || op.type, rec.fields);
  } else {
    op.base = rec.version;
  }
}

async function saveIn(tx, type, id, values, author, at) {
  const records = tx.objectStore('records');
  const outbox = tx.objectStore('outbox');
  let rec = id ? await req(records.get(id)) : undefined;
  const pending = rec ? await req(outbox.index('id').getAll(rec.id)) : [];
  const last = pending[pending.length - 1];
  const moves = Boolean(rec) && 'status' in values && values.status !== rec.fields.status;
  let op = null;
  let folded = false;
  if (!rec) {
    rec = { id: id || uuid(), type, version: null, server: null, fields: defaults(type), author, createdAt: at };
    // The defaults too: the server's record is then the phone's, so the answer need not send it back.
    op = { base: null, set: filled(type, { ...rec.fields, ...values }) };
  } else if (last && !last.sent && !last.ack && !moves) { // not sent yet: fold the edit into it
    const set = { ...last.set, ...changed(type, values, rec.fields) };
    last.set = last.base === null && !last.chain ? filled(type, set) : set;
    last.at = at;
    outbox.put(last);
    folded = true;
  } else if (last) {
    const set = moves ? { ...changed(type, values, rec.fields), ...values } : changed(type, values, rec.fields);
    if (Object.keys(set).length) op = { base: null, chain: true, set };
  } else if (!rec.server) { // a rejected create: send it again as a create
    op = { base: null, set: filled(type, { ...rec.fields, ...values }) };
  } else {
    const set = changed(type, values, rec.state === 'rejected' ? rec.server : rec.fields);
    if (moves) Object.assign(set, values); // a move carries what it needs (a reason) even if unchanged
    if (Object.keys(set).length) op = { base: rec.version, set };
    else if (rec.state === 'rejected') Object.assign(rec, { state: 'confirmed', error: null });
  }
  rec.fields = { ...rec.fields, ...values };
  if (op || folded) Object.assign(rec, { state: 'waiting', error: null, localAt: at });
  if (op) outbox.add({ op: uuid(), type, id: rec.id, at, chain: false, sent: false, ...op });
  records.put(rec);
  return rec;
}

// Save several records at once (e.g. a request and the problem made from it): all or nothing.
// items: [{type, id, values}]; an id that is not on the phone yet creates a record with that id.
// photos: the bytes of the attachment records among the items, stored in the same transaction.
export async function saveMany(db, items, author, photos = []) {
  const at = new Date().toISOString();
  return inTx(db, ['records', 'outbox', ...(photos.length ? ['photos'] : [])], 'readwrite', async (tx) => {
    const out = [];
    for (const { type, id, values } of items) out.push(await saveIn(tx, type, id, values, author, at));
    for (const photo of photos) tx.objectStore('photos').put(photo);
    return out;
  }, { strict: true });
}

export async function save(db, type, id, values, author) {
  return (await saveMany(db, [{ type, id, values }], author))[0];
}

// "Got it" on a record's conflicts: an op with `ack` (and nothing to set) that clears them on the server.
export async function acknowledge(db, id) {
  return inTx(db, ['records', 'outbox'], 'readwrite', async (tx) => {
    const records = tx.objectStore('records');
    const outbox = tx.objectStore('outbox');
    const rec = await req(records.get(id));
    if (!rec) return;
    const pending = await req(outbox.index('id').getAll(id));
    if (!pending.some((p) => p.ack && !p.sent)) {
      const at = new Date().toISOString();
      const chain = pending.length > 0;
      outbox.add({ op: uuid(), type: rec.type, id, at, chain, sent: false, ack: true, base: chain ? null : rec.version, set: {} });
    }
    Object.assign(rec, { conflicts: [], state: 'waiting', error: null });
    records.put(rec);
  }, { strict: true });
}

// Give up a rejected change: back to what the server has (a rejected create disappears from the phone).
// Returns the record as it was, for undo.
export async function discard(db, id) {
  return inTx(db, ['records', 'outbox'], 'readwrite', async (tx) => {
    const records = tx.objectStore('records');
    const outbox = tx.objectStore('outbox');
    const rec = await req(records.get(id));
    if (!rec || rec.state !== 'rejected' || (await req(outbox.index('id').count(id)))) return null;
    if (!rec.server) records.delete(id);
    else records.put({ ...rec, fields: { ...rec.server }, state: 'confirmed', error: null });
    return rec;
  }, { strict: true });
}

// Undo a discard: the record as it was, unless it has changed since (a newer version pulled, a new edit).
export async function restore(db, kept) {
  return inTx(db, ['records', 'outbox'], 'readwrite', async (tx) => {
    const records = tx.objectStore('records');
    const now = await req(records.get(kept.id));
    const pending = await req(tx.objectStore('outbox').index('id').count(kept.id));
    if (pending || (now && (now.version !== kept.version || now.state !== 'confirmed'))) return false;
    records.put(kept);
    return true;
  }, { strict: true });
}

// The next ops to send (one per record, oldest first), marked as sent before they go.
export async function takeBatch(db, max) {
  return inTx(db, ['records', 'outbox'], 'readwrite', async (tx) => {
    const records = tx.objectStore('records');
    const outbox = tx.objectStore('outbox');
    const all = await req(outbox.getAll());
    const seen = new Set();
    const batch = [];
    for (const op of all) {
      if (seen.has(op.id)) continue;
      seen.add(op.id);
      if (op.chain) unchain(op, (await req(records.get(op.id))) || { fields: {} });
      if (batch.length < max) batch.push(op);
    }
    for (const op of batch) {
      op.sent = true;
      op.tries = (op.tries || 0) + 1;
      outbox.put(op);
      const rec = await req(records.get(op.id));
      if (rec && !all.some((o) => o.id === op.id && !o.sent)) {
        rec.state = 'sent';
        records.put(rec);
      }
    }
    return batch;
  });
}

// The server refused the whole request before applying anything (a 4xx, e.g. a revoked token). Ops sent
// for the first time were not delivered: they are waiting again. An op sent before may have arrived
// with an answer lost on the way, so it stays "sent" and is never changed.
export async function releaseBatch(db, batch) {
  return inTx(db, ['records', 'outbox'], 'readwrite', async (tx) => {
    const records = tx.objectStore('records');
    const outbox = tx.objectStore('outbox');
    for (const op of batch) {
      const stored = await req(outbox.get(op.n));
      if (!stored || stored.tries !== 1) continue;
      Object.assign(stored, { sent: false, tries: 0 });
      outbox.put(stored);
      const rec = await req(records.get(op.id));
      if (rec && rec.state === 'sent') {
        rec.state = 'waiting';
        records.put(rec);
      }
    }
  });
}

export const wire = ({ op, type, id, base, set, at, ack }) => ({ op, type, id, base, set, at, ...(ack ? { ack } : {}) });

// What the answer's changes would say of a record the push wrote as the phone has it, which they leave out:
// when it changed, by the server's clock, and that it is not at its milestone (resolved, answered, done) if
// its status is not one (a move to a milestone comes back in the changes, with the server's moment).
function stamp(rec, at) {
  rec.updatedAt = at;
  const done = milestone(rec.type) || [];
  if (done.length && !done.includes(rec.fields.status)) rec.reachedAt = null;
}

// Store the server's answer: results for our ops (a pushed record is confirmed at its result's version,
// as the answer carries it in `changes` only if the server changed it), then the changes we had not seen,
// the village's people if they changed, then the cursor. `at` is the server's time of the answer.
export async function applyResponse(db, batch, body, at = new Date().toISOString()) {
  return inTx(db, ['records', 'outbox', 'meta'], 'readwrite', async (tx) => {
    const records = tx.objectStore('records');
    const outbox = tx.objectStore('outbox');
    const meta = tx.objectStore('meta');
    const sent = new Map(batch.map((op) => [op.op, op]));
    for (const result of body.results || []) {
      const op = sent.get(result.op);
      if (!op) continue;
      outbox.delete(op.n);
      const rec = await req(records.get(op.id));
      if (!rec) continue;
      const rest = await req(outbox.index('id').getAll(op.id));
      const status = result.status === 'duplicate' ? result.outcome || 'applied' : result.status;
      if (status === 'rejected') {
        rec.state = rest.length ? 'waiting' : 'rejected';
        rec.error = result.error || { code: 'rejected', message: '' };
      } else {
        if (Number.isInteger(result.version)) rec.version = Math.max(rec.version || 0, result.version);
        if (result.conflicts && !op.ack && !rest.some((p) => p.ack)) rec.conflicts = result.conflicts;
        if (!rest.length) {
          Object.assign(rec, { state: 'confirmed', error: null, server: { ...rec.fields } });
          stamp(rec, at);
        }
      }
      if (rest[0] && rest[0].chain) {
        unchain(rest[0], rec);
        outbox.put(rest[0]);
      }
      records.put(rec);
    }
    for (const change of body.changes || []) {
      const rec = await req(records.get(change.id));
      if (rec && rec.version > change.version) continue; // we already know a newer version
      const pending = await req(outbox.index('id').getAll(change.id));
      const next = {
        ...rec, createdAt: change.created_at || (rec && rec.createdAt) || change.updated_at, // the server's moment
        id: change.id, type: change.type, version: change.version,
        server: change.fields, deleted: change.deleted, author: change.author, unit: change.unit,
        updatedAt: change.updated_at, ...('reached_at' in change ? { reachedAt: change.reached_at } : {}),
        conflicts: pending.some((p) => p.ack) ? [] : change.conflicts || [],
      };
      if (pending.length) next.fields = { ...change.fields, ...Object.assign({}, ...pending.map((p) => p.set)) };
      else if (rec && rec.state === 'rejected') next.fields = rec.fields; // keep what was typed until fixed
      else Object.assign(next, { fields: change.fields, state: 'confirmed', error: null });
      records.put(next);
    }
    if (body.people && Array.isArray(body.people.list)) {
      meta.put(body.people.list, 'people');
      meta.put(body.people.version ?? null, 'peopleVersion');
    }
    // A village's cursor is its county's position; a scope spanning counties gets an opaque string.
    if (Number.isInteger(body.cursor) || typeof body.cursor === 'string') meta.put(body.cursor, 'cursor');
  });
}

// Every live record on the phone, by type.
export async function allRecords(db) {
  const all = await inTx(db, 'records', 'readonly', (tx) => req(tx.objectStore('records').getAll()));
  const by = { journal: [], problem: [], meeting: [], request: [], task: [], review: [], attachment: [] };
  for (const r of all) if (!r.deleted && by[r.type]) by[r.type].push(r);
  // A thread reads oldest first, by the server's time; replies not yet on the server come last.
  by.review.sort((a, b) => !a.updatedAt - !b.updatedAt
    || (a.updatedAt || a.createdAt || '').localeCompare(b.updatedAt || b.createdAt || ''));
  by.journal.sort((a, b) => (b.fields.date || '').localeCompare(a.fields.date || '')
    || (b.createdAt || '').localeCompare(a.createdAt || ''));
  return by;
}

// The live records the server refused, waiting for a fix or a discard.
export async function rejected(db) {
  const all = await inTx(db, 'records', 'readonly', (tx) => req(tx.objectStore('records').getAll()));
  return all.filter((r) => !r.deleted && r.state === 'rejected');
}

export async function journals(db) {
  return (await allRecords(db)).journal;
}
