// Makes a photo small off the page's thread (photo-scale.js): upright by its EXIF orientation, on an
// OffscreenCanvas. One message, one photo; photos.js sends them one at a time.
import { makeSmall } from './photo-scale.js';

const offscreen = {
  canvas: (width, height) => new OffscreenCanvas(width, height),
  encode: (canvas, quality) => canvas.convertToBlob({ type: 'image/jpeg', quality }),
};

self.addEventListener('message', async ({ data: { n, file } }) => {
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    self.postMessage({ n, ...(await makeSmall(bitmap, bitmap.width, bitmap.height, offscreen)) });
  } catch (error) {
    self.postMessage({ n, error: String(error) });
  } finally {
    if (bitmap) bitmap.close(); // the decoded pixels, tens of megabytes, go at once
  }
});
