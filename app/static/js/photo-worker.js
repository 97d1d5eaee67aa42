// Downscales a photo off the page's thread: upright by its EXIF orientation, a long edge of at most 1600 px
// (and a 320 px thumbnail), re-encoded as JPEG — which drops every piece of metadata (place, camera, time) — at
// the first quality that brings it near 200 KB. (Chromium's WebP encoder took twelve times as long for a tenth
// fewer bytes on a camera photo: docs/PERFORMANCE.md.)
const FULL = 1600;
const THUMB = 320;
const TARGET = 250 * 1024;
const QUALITIES = [0.8, 0.7, 0.6, 0.5];

function draw(bitmap, longEdge) {
  const scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
  const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas;
}

// The first quality under the target, else the lowest (a grainy photo of foliage stays a little above it).
async function encode(canvas) {
  let blob = null;
  for (const quality of QUALITIES) {
    blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
    if (blob.size <= TARGET) break;
  }
  return blob;
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

self.addEventListener('message', async ({ data: { n, file } }) => {
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const canvas = draw(bitmap, FULL);
    const full = await encode(canvas);
    const thumb = await draw(bitmap, THUMB).convertToBlob({ type: 'image/jpeg', quality: 0.7 });
    const sha256 = hex(await crypto.subtle.digest('SHA-256', await full.arrayBuffer()));
    self.postMessage({ n, full, thumb, mime: full.type, width: canvas.width, height: canvas.height, sha256 });
  } catch (error) {
    self.postMessage({ n, error: String(error) });
  } finally {
    if (bitmap) bitmap.close(); // the decoded pixels, tens of megabytes, go at once
  }
});
