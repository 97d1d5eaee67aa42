// Search over every record on this phone, offline, as one types: a case-insensitive substring match (Chinese
// has no spaces between words), every space-separated term must be found in one of the record's text fields
// (the schema says which). It reads the records the page last drew (ctx.data), so it costs no IndexedDB read.
// Loaded when the header's search button is first tapped; precached with the other modules.
import { fieldLabel, fieldSpec, typeLabel } from './schema.js';
import { $, TITLE, clone, show, t, value } from './ui.js';

const TYPES = ['journal', 'problem', 'meeting', 'request', 'task'];
const DEBOUNCE_MS = 150;
const SHOWN = 30; // the newest ones; more terms narrow the rest
const SNIPPET = 60; // characters around the first match
const BEFORE = 12;
const FOUND_MS = 5000; // how long a tapped record may take to appear in its view

const textFields = (rec) => Object.keys(rec.fields).filter((f) => {
  const s = fieldSpec(rec.type, f);
  return s && s.kind === 'text' && typeof rec.fields[f] === 'string' && rec.fields[f] !== '';
});

// The day a record is about (a journal's or meeting's date, else the day it was made, Beijing time), for newest
// first. One formatter for all (ui.js's dayOf makes one per call, too slow for thousands of records).
const BEIJING_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' });
function dayOfRecord(rec) {
  const at = rec.createdAt || rec.updatedAt;
  return rec.fields.date || (at ? BEIJING_DAY.format(new Date(at)) : '');
}

// Each record's text, lowercased, and its day: worked out once per drawing (ctx.data holds new objects after
// every refresh).
const indexed = new WeakMap();
function entryOf(rec) {
  let entry = indexed.get(rec);
  if (!entry) {
    entry = { text: textFields(rec).map((f) => rec.fields[f]).join('\n').toLowerCase(), day: null };
    indexed.set(rec, entry);
  }
  return entry;
}

export const termsOf = (query) => query.toLowerCase().split(/\s+/).filter(Boolean);

const newer = (a, b) => (a < b ? 1 : a > b ? -1 : 0); // ISO dates and times sort as strings

// Every record matching all terms, newest first.
export function find(data, terms) {
  if (!data || !terms.length) return [];
  const out = [];
  for (const type of TYPES) {
    for (const rec of data[type] || []) {
      const entry = entryOf(rec);
      if (!terms.every((term) => entry.text.includes(term))) continue;
      entry.day ??= dayOfRecord(rec);
      out.push({ rec, day: entry.day });
    }
  }
  return out.sort((a, b) => newer(a.day, b.day) || newer(a.rec.createdAt || '', b.rec.createdAt || ''));
}

const escape = (term) => term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const matcher = (terms) => new RegExp([...terms].sort((a, b) => b.length - a.length).map(escape).join('|'), 'giu');

// A piece of a text around its first match, as text nodes with the matches in <mark> (never markup from the
// record itself).
function highlighted(text, terms) {
  const first = text.search(matcher(terms));
  const chars = [...text];
  const at = first < 0 ? 0 : [...text.slice(0, first)].length;
  const start = Math.max(0, at - BEFORE);
  let piece = chars.slice(start, start + SNIPPET).join('');
  piece = `${start > 0 ? '…' : ''}${piece.replace(/\s+/g, ' ')}${start + SNIPPET < chars.length ? '…' : ''}`;
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of piece.matchAll(matcher(terms))) {
    out.append(document.createTextNode(piece.slice(last, m.index)));
    const mark = document.createElement('mark');
    mark.textContent = m[0];
    out.append(mark);
    last = m.index + m[0].length;
  }
  out.append(document.createTextNode(piece.slice(last)));
  return out;
}

const termsIn = (text, terms) => terms.some((term) => text.toLowerCase().includes(term));

function resultItem({ rec, day }, terms, open) {
  const item = clone('search-item');
  const f = rec.fields;
  item.querySelector('.search-type').textContent = typeLabel(rec.type);
  item.querySelector('.search-meta').textContent = [day, f.status && value(rec.type, 'status', f.status)]
    .filter(Boolean).join(' · ');
  const title = TITLE[rec.type];
  item.querySelector('.search-title').append(highlighted(String(f[title] || ''), terms));
  // The first other field that holds a term, with its name.
  const other = textFields(rec).find((name) => name !== title && termsIn(f[name], terms));
  const snippet = item.querySelector('.search-snippet');
  show(snippet, Boolean(other));
  if (other) {
    snippet.querySelector('.search-field').textContent = fieldLabel(rec.type, other);
    snippet.querySelector('.search-text').append(highlighted(f[other], terms));
  }
  const button = item.querySelector('button');
  button.dataset.id = rec.id;
  button.dataset.type = rec.type;
  button.addEventListener('click', () => open(rec));
  return item;
}

// The first element matching `selector` that is not inside anything hidden, or null.
const onScreen = (selector) => [...document.querySelectorAll(selector)].find((el) => !el.closest('[hidden]')) || null;

// Resolves with onScreen(selector) once there is one, or null after FOUND_MS: a view is drawn and shown a
// moment after its tab is opened.
function appears(selector) {
  return new Promise((resolve) => {
    const now = onScreen(selector);
    if (now) return resolve(now);
    const finish = (el) => {
      observer.disconnect();
      clearTimeout(timer);
      resolve(el);
    };
    const observer = new MutationObserver(() => { const el = onScreen(selector); if (el) finish(el); });
    const timer = setTimeout(() => finish(onScreen(selector)), FOUND_MS);
    observer.observe($('field-body'), { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'] });
  });
}

// The opened record's card stays marked while its view is drawn again (every sync redraws the lists), until
// the search is closed or another record is opened.
let keeping = null;
function mark(selector) {
  if (keeping) keeping.disconnect();
  for (const old of document.querySelectorAll('.search-target')) old.classList.remove('search-target');
  if (!selector) return;
  const apply = () => {
    const el = document.querySelector(selector);
    if (el && !el.classList.contains('search-target')) el.classList.add('search-target');
  };
  apply();
  keeping = new MutationObserver(apply);
  keeping.observe($('field-body'), { childList: true, subtree: true });
}

// Wires the search bar (opened from the header's button) and opens it; `viewOf` names each type's tab.
export function start(ctx, viewOf) {
  const bar = $('search');
  const toggle = $('search-open');
  const input = $('search-input');
  const panel = $('search-results');
  const list = $('search-list');
  let timer = null;

  function run() {
    clearTimeout(timer);
    const terms = termsOf(input.value);
    list.dataset.query = input.value; // what the list shows results for
    show(panel, terms.length > 0);
    if (!terms.length) return list.replaceChildren();
    const found = find(ctx.data, terms);
    list.replaceChildren(...found.slice(0, SHOWN).map((hit) => resultItem(hit, terms, open)));
    show($('search-none'), found.length === 0);
    const summary = $('search-summary');
    summary.textContent = found.length > SHOWN ? t('search.more', { shown: SHOWN, n: found.length })
      : t('search.count', { n: found.length });
    show(summary, found.length > 0);
  }

  function later(event) {
    if (event.isComposing) return; // a pinyin syllable being typed is not a word yet
    clearTimeout(timer);
    if (!input.value.trim()) run(); // cleared: the panel goes at once
    else timer = setTimeout(run, DEBOUNCE_MS);
  }

  function openBar() {
    show(bar, true);
    toggle.setAttribute('aria-expanded', 'true');
    input.focus();
  }

  function closeBar() {
    input.value = '';
    run();
    show(bar, false);
    mark(null);
    toggle.setAttribute('aria-expanded', 'false');
    toggle.focus();
  }

  // The record's card in its own tab: the tab opens, the card scrolls into view and is marked.
  async function open(rec) {
    show(panel, false);
    const view = viewOf[rec.type];
    location.hash = `#${view}`;
    const card = `#view-${view} .entry[data-id="${CSS.escape(rec.id)}"]`;
    await appears(`#view-${view}`);
    let el = onScreen(card);
    const filter = $('problem-filter');
    if (!el && rec.type === 'problem' && filter && filter.value !== 'all') { // hidden by the list's filter
      filter.value = 'all';
      filter.dispatchEvent(new Event('change'));
      el = await appears(card);
    }
    if (!el) return;
    mark(card);
    el.scrollIntoView({ block: 'center' });
  }

  input.addEventListener('input', later);
  input.addEventListener('compositionend', later);
  input.addEventListener('focus', () => { if (input.value.trim()) run(); }); // back to the results after a tap
  input.addEventListener('keydown', (event) => {
    if (event.isComposing) return; // Enter picks the IME's characters
    if (event.key === 'Escape') closeBar();
    if (event.key === 'Enter') { // the keyboard's search key: the results at once, and the keyboard goes away
      run();
      input.blur();
    }
  });
  toggle.addEventListener('click', () => (bar.hidden ? openBar() : closeBar()));
  $('search-close').addEventListener('click', closeBar);
  openBar();
}
