// Photos on a form: taken or chosen, downscaled in photo-worker.js, shown as thumbnails with an optional
// caption, and saved with the record (an attachment record per photo, its bytes in the 'photos' store, in the
// record's own transaction). Optional everywhere: a form saves the same without one.
import { uuid } from './db.js';
import { problemWith } from './schema.js';
import { t } from './ui.js';

// One photo at a time: a 12-megapixel photo is about 48 MB once decoded, and a cheap phone has little to spare.
// A worker that fails to load, crashes or hangs is replaced and the photo reported unreadable, so a save never
// waits on it for ever.
const TIMEOUT = 60 * 1000;
let worker = null;
let queue = Promise.resolve();

function runOne(file) {
  return new Promise((resolve, reject) => {
    worker ||= new Worker(new URL('./photo-worker.js', import.meta.url), { type: 'module' });
    const broken = (error) => {
      clearTimeout(timer);
      worker.terminate();
      worker = null;
      reject(error);
    };
    const timer = setTimeout(() => broken(new Error('the photo took too long')), TIMEOUT);
    worker.onmessage = ({ data }) => {
      clearTimeout(timer);
      if (data.error) reject(new Error(data.error));
      else resolve(data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      broken(new Error(event.message || 'the photo worker failed'));
    };
    worker.onmessageerror = () => broken(new Error('the photo could not be passed on'));
    worker.postMessage({ n: 1, file });
  });
}

// Where a browser has no OffscreenCanvas (Safari before 16.4), the same work on the page: an <img> turns the
// photo upright by itself, and the page's canvas encodes it.
async function runHere(file) {
  const { makeSmall } = await import('./photo-scale.js');
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return await makeSmall(img, img.naturalWidth, img.naturalHeight, {
      canvas: (width, height) => Object.assign(document.createElement('canvas'), { width, height }),
      encode: (canvas, quality) => new Promise((resolve, reject) => canvas.toBlob(
        (blob) => (blob ? resolve(blob) : reject(new Error('the photo could not be encoded'))), 'image/jpeg', quality)),
    });
  } finally {
    URL.revokeObjectURL(url);
  }
}

const workerCanDraw = () => typeof OffscreenCanvas !== 'undefined' && 'convertToBlob' in OffscreenCanvas.prototype;

function downscale(file) {
  const run = queue.then(() => (workerCanDraw() ? runOne(file) : runHere(file)));
  queue = run.catch(() => {});
  return run;
}

const el = (tag, props) => Object.assign(document.createElement(tag), props);

function thumbItem(photo, onRemove) {
  const li = el('li', { className: 'photo' });
  const img = el('img', { src: URL.createObjectURL(photo.thumb), alt: '' });
  const caption = el('input', { type: 'text', className: 'photo-caption', placeholder: t('photo.caption'),
    enterKeyHint: 'done' });
  caption.setAttribute('aria-label', t('photo.caption'));
  caption.addEventListener('input', () => { photo.caption = caption.value.trim() || null; });
  const remove = el('button', { type: 'button', className: 'photo-remove', textContent: t('photo.remove') });
  remove.addEventListener('click', () => { URL.revokeObjectURL(img.src); li.remove(); onRemove(); });
  li.append(img, caption, remove);
  return li;
}

// Ask once, with the first photo, that the browser keep this phone's data even when space runs short.
function askToPersist() {
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
}

// The photo control of a form (its `.photos` block).
export function photoControl(form) {
  const box = form.querySelector('.photos');
  const list = box.querySelector('.photo-list');
  const note = box.querySelector('.photo-note');
  let pending = [];
  let working = [];
  let busy = 0;
  let shown = 0; // bumped by clear(): a photo still being made when the form was cleared does not come back

  async function add(file) {
    const mine = shown;
    busy += 1;
    note.textContent = t('photo.working');
    let made = null;
    try {
      made = await downscale(file);
    } catch (error) {
      if (mine === shown) note.dataset.failed = t('photo.unreadable', { name: file.name || '' });
    }
    if (mine !== shown) return;
    busy -= 1;
    if (made) {
      const photo = { id: uuid(), caption: null, ...made };
      pending.push(photo);
      list.append(thumbItem(photo, () => { pending = pending.filter((p) => p !== photo); }));
    }
    note.textContent = busy ? t('photo.working') : note.dataset.failed || '';
  }

  return {
    // The files just taken or chosen (forms.js listens to the form's file inputs, and loads this module then).
    take(files) {
      if (files.length) askToPersist();
      for (const file of files) working.push(add(file));
    },
    clear() {
      shown += 1;
      for (const img of list.querySelectorAll('img')) URL.revokeObjectURL(img.src);
      list.replaceChildren();
      note.textContent = '';
      delete note.dataset.failed;
      pending = [];
      working = [];
      busy = 0;
    },
    // What is wrong with a caption, in the schema's words (null when nothing is).
    problem() {
      for (const p of pending) {
        const problem = p.caption && problemWith('attachment', 'caption', p.caption);
        if (problem) return problem;
      }
      return null;
    },
    // The attachment records and their bytes for a record saved as (type, id), once every photo taken
    // is ready (a save tapped while one is still being made waits for it rather than losing it).
    async saved(type, id) {
      const mine = shown;
      await Promise.allSettled(working);
      if (mine !== shown) return { items: [], photos: [] };
      const items = pending.map((p) => ({ type: 'attachment', id: p.id, values: {
        owner_type: type, owner_id: id, sha256: p.sha256, mime: p.mime, bytes: p.full.size,
        width: p.width, height: p.height, caption: p.caption } }));
      const photos = pending.map((p) => ({ id: p.id, owner: id, full: p.full, thumb: p.thumb, bytes: p.full.size,
        sent: 0, state: 'waiting', error: null }));
      return { items, photos };
    },
  };
}

let shownUrls = [];
export function forgetThumbs() {
  for (const url of shownUrls) URL.revokeObjectURL(url);
  shownUrls = [];
}

// Why the server refused a photo's bytes, by its error code.
const REFUSALS = ['digest_mismatch', 'not_an_image', 'too_many_pixels', 'wrong_type', 'not_a_photo', 'too_large'];
export const refusal = (code) => t(`photoRefused.${REFUSALS.includes(code) ? code : 'other'}`);

// A card's photos: the thumbnails kept on this phone, each saying whether it still waits to be sent or why it
// was refused (with a way to remove it; the record stays), and a count of those taken on other phones.
// shown: [{photo, reason: why it was refused, or null, caption}], elsewhere: how many this phone has no bytes
// of; open(photo, url, caption): a tap on a photo (its sheet), where the person may change it.
export function drawThumbs(slot, shown, elsewhere, remove, open = null) {
  const items = shown.map(({ photo, reason, caption }) => {
    const li = el('li', { className: 'photo' });
    li.dataset.state = reason === null ? photo.state : 'failed';
    li.dataset.id = photo.id;
    const url = URL.createObjectURL(photo.thumb);
    shownUrls.push(url);
    const img = el('img', { src: url, alt: caption || t('photo.alt') });
    if (open && reason === null) {
      const button = el('button', { type: 'button', className: 'photo-open' });
      button.setAttribute('aria-label', caption || t('photo.alt'));
      button.append(img);
      button.addEventListener('click', () => open(photo, url, caption));
      li.append(button);
    } else li.append(img);
    if (caption) li.append(el('span', { className: 'photo-caption-text', textContent: caption }));
    if (li.dataset.state === 'failed') {
      li.append(el('span', { className: 'photo-state', textContent: t('photo.failed', { reason }) }));
      const button = el('button', { type: 'button', className: 'photo-remove', textContent: t('photo.remove') });
      button.addEventListener('click', () => remove(photo));
      li.append(button);
    } else if (photo.state !== 'done') {
      li.append(el('span', { className: 'photo-state', textContent: t('photo.waiting') }));
    }
    return li;
  });
  if (elsewhere) items.push(el('li', { className: 'photo-elsewhere', textContent: t('photo.elsewhere', { n: elsewhere }) }));
  slot.hidden = items.length === 0;
  slot.replaceChildren(...items);
}

// A photo's sheet: larger, its caption to change, and "remove" for one taken by mistake (asked first).
// onCaption(text) and onRemove() save through the page; the sheet closes once they are done.
export function openSheet(url, caption, { onCaption, onRemove, confirm }) {
  const dialog = document.getElementById('photo-sheet');
  const form = document.getElementById('photo-sheet-form');
  const error = document.getElementById('photo-sheet-error');
  document.getElementById('photo-sheet-img').src = url;
  form.elements.caption.value = caption || '';
  error.hidden = true;
  const done = () => {
    form.onsubmit = document.getElementById('photo-sheet-remove').onclick = null;
    if (dialog.open) dialog.close();
  };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const text = form.elements.caption.value.trim() || null;
    const problem = text && problemWith('attachment', 'caption', text);
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    done();
    if (text !== (caption || null)) await onCaption(text);
  };
  document.getElementById('photo-sheet-remove').onclick = async () => {
    if (!(await confirm(t('photo.removeAsk'), t('photo.remove')))) return;
    done();
    await onRemove();
  };
  document.getElementById('photo-sheet-close').onclick = done;
  dialog.showModal();
}
