// Making a photo small, wherever it is drawn (photo-worker.js on an OffscreenCanvas; photos.js on the page's own
// canvas where a browser has none): a long edge of at most 1600 px and a 320 px thumbnail, re-encoded as JPEG —
// which drops every piece of metadata (place, camera, time) — at the first quality that brings it near 200 KB.
// (Chromium's WebP encoder took twelve times as long for a tenth fewer bytes on a camera photo: docs/PERFORMANCE.md.)
const FULL = 1600;
const THUMB = 320;
const TARGET = 250 * 1024;
const QUALITIES = [0.8, 0.7, 0.6, 0.5];

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

// source: an upright picture (an ImageBitmap or an <img>) of width × height; canvas(w, h) makes a canvas and
// encode(canvas, quality) a JPEG blob of it.
export async function makeSmall(source, width, height, { canvas, encode }) {
  const draw = (longEdge) => {
    const scale = Math.min(1, longEdge / Math.max(width, height));
    const out = canvas(Math.round(width * scale), Math.round(height * scale));
    out.getContext('2d').drawImage(source, 0, 0, out.width, out.height);
    return out;
  };
  const big = draw(FULL);
  let full = null;
  for (const quality of QUALITIES) { // a grainy photo of foliage stays a little above the target at the lowest
    full = await encode(big, quality);
    if (full.size <= TARGET) break;
  }
  const thumb = await encode(draw(THUMB), 0.7);
  const sha256 = hex(await crypto.subtle.digest('SHA-256', await full.arrayBuffer()));
  return { full, thumb, mime: full.type, width: big.width, height: big.height, sha256 };
}
