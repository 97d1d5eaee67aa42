// Downscales a photo off the page's thread: upright by its EXIF orientation, a long edge of at most 1600 px
// (and a 320 px thumbnail), re-encoded as JPEG, which drops every piece of metadata (place, camera, time).
const FULL = 1600;
const THUMB = 320;

async function encode(bitmap, longEdge, quality) {
  const scale = Math.min(1, longEdge / Math.max(bitmap.width, bitmap.height));
  const width = Math.round(bitmap.width * scale);
  const height = Math.round(bitmap.height * scale);
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
  return { blob: await canvas.convertToBlob({ type: 'image/jpeg', quality }), width, height };
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

self.addEventListener('message', async ({ data: { n, file } }) => {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const full = await encode(bitmap, FULL, 0.8);
    const thumb = await encode(bitmap, THUMB, 0.7);
    bitmap.close();
    const sha256 = hex(await crypto.subtle.digest('SHA-256', await full.blob.arrayBuffer()));
    self.postMessage({ n, full: full.blob, thumb: thumb.blob, width: full.width, height: full.height, sha256 });
  } catch (error) {
    self.postMessage({ n, error: String(error) });
  }
});
