"""The phone's photo figures, in Chromium against the demo: a 12-megapixel camera JPEG through photo-worker.js
(time to downscale, bytes kept), with the CPU at full speed and slowed 4× like a cheap phone, and the bytes an
upload cut at half way sends again with uploads.js.

Usage: python bench/photos.py [--runs 7] [--port 0]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter  # noqa: E402

from bench import live  # noqa: E402
from bench.live import chromium, log_in  # noqa: E402

WIDTH, HEIGHT = 4000, 3000
PHOTO_URL = "/bench-photo.jpg"  # answered by page.route, never by the server
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN",
         "device_scale_factor": 3, "service_workers": "block"}  # no worker: page.route sees every request


@contextlib.contextmanager
def demo_server(port: int):
    """bench.live.demo_server, quiet."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with live.demo_server(port) as (base, _app):
        yield base


def _noise(size: tuple[int, int], sigma: float, scale: int = 1) -> Image.Image:
    """Gaussian noise around 128, drawn at size/scale and enlarged smoothly (scale > 1: blotches, not grain)."""
    small = Image.effect_noise((size[0] // scale, size[1] // scale), sigma)
    return small if scale == 1 else small.resize(size, Image.BICUBIC)


def _add(image: Image.Image, noise: Image.Image) -> Image.Image:
    """The image plus zero-mean noise (grey noise, or one per channel)."""
    if noise.mode == "L":
        noise = Image.merge("RGB", (noise,) * 3)
    return ImageChops.add(image, noise, scale=1.0, offset=-128)


def camera_jpeg() -> bytes:
    """A 4000×3000 photo as a phone camera writes it: a sky and fields in smooth gradients, clouds and
    furrows at low frequency, foliage texture, a few sharp-edged buildings, lens softness, then sensor noise
    (σ≈2.5 a channel, as at base ISO), saved at quality 92 with the camera's EXIF and a GPS position."""
    rng = random.Random(11)
    horizon = int(HEIGHT * 0.42)
    column = Image.new("RGB", (1, HEIGHT))
    for y in range(HEIGHT):
        if y < horizon:
            t = y / horizon
            column.putpixel((0, y), (int(95 + 100 * t), int(150 + 65 * t), int(215 + 15 * t)))
        else:
            t = (y - horizon) / (HEIGHT - horizon)
            column.putpixel((0, y), (int(120 - 55 * t), int(140 - 40 * t), int(60 - 25 * t)))
    image = column.resize((WIDTH, HEIGHT), Image.BILINEAR)
    clouds = _noise((WIDTH, HEIGHT), 90, scale=50).point(lambda v: max(0, min(255, (v - 150) * 4)))
    sky = Image.new("L", (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(sky).rectangle((0, 0, WIDTH, horizon), fill=255)
    image = Image.composite(Image.new("RGB", image.size, (235, 238, 242)), image, ImageChops.multiply(clouds, sky))
    ground = ImageChops.invert(sky)
    fields = _add(image, _noise((WIDTH, HEIGHT), 45, scale=8))
    fields = _add(fields, _noise((WIDTH, HEIGHT), 28, scale=2))
    image = Image.composite(fields, image, ground)
    draw = ImageDraw.Draw(image)
    for _ in range(14):  # houses along the horizon: walls, roofs, windows
        x, w, h = rng.randrange(0, WIDTH - 300), rng.randrange(120, 320), rng.randrange(90, 220)
        top = horizon + rng.randrange(-40, 60) - h
        draw.rectangle((x, top, x + w, top + h), fill=(rng.randrange(200, 240),) * 3)
        draw.polygon([(x - 15, top), (x + w // 2, top - h // 2), (x + w + 15, top)], fill=(120, 60, 45))
        for wx in range(x + 20, x + w - 30, 50):
            draw.rectangle((wx, top + 25, wx + 25, top + 55), fill=(50, 60, 70))
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    grain = Image.merge("RGB", [_noise((WIDTH, HEIGHT), 2.5) for _ in range(3)])
    image = _add(image, grain)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi Note 12"
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.Base.DateTime] = "2026:04:08 10:21:36"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (30.0, 35.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (114.0, 17.0, 45.1)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


DOWNSCALE = """async ({base, runs}) => {
  const file = new File([await (await fetch('%s')).blob()], 'IMG_20260408_102136.jpg', {type: 'image/jpeg'});
  const worker = new Worker(base + 'photo-worker.js', {type: 'module'});
  const times = [];
  let last;
  for (let n = 1; n <= runs; n++) {
    const started = performance.now();
    last = await new Promise((resolve) => {
      worker.onmessage = ({data}) => resolve(data);
      worker.postMessage({n, file});
    });
    times.push(performance.now() - started);
    if (last.error) throw new Error(last.error);
  }
  worker.terminate();
  return {times, full: last.full.size, thumb: last.thumb.size, width: last.width, height: last.height};
}""" % PHOTO_URL

# The same module on the page's own thread, where CDP's CPU throttling reaches (it refuses worker targets):
# imported into the page, photo-worker.js listens on the window; its answers, which come back to the window as
# messages without a file, are caught before it sees them again.
ON_PAGE = """async ({base, runs}) => {
  const file = new File([await (await fetch('%s')).blob()], 'IMG_20260408_102136.jpg', {type: 'image/jpeg'});
  let answer = null;
  addEventListener('message', (event) => {
    if (event.data.file) return;
    event.stopImmediatePropagation();
    answer(event.data);
  }, true);
  await import(base + 'photo-worker.js');
  const times = [];
  let last;
  for (let n = 1; n <= runs; n++) {
    const started = performance.now();
    last = await new Promise((resolve) => { answer = resolve; postMessage({n, file}, location.origin); });
    times.push(performance.now() - started);
    if (last.error) throw new Error(last.error);
  }
  return {times, full: last.full.size, thumb: last.thumb.size, width: last.width, height: last.height};
}""" % PHOTO_URL

# A journal and its photo's attachment record through the sync API, the photo's bytes in the `photos` store
# as photos.js saves them, the attachment record on the phone at the server's version; returns the ids.
PREPARE = """async ({base}) => {
  const dbm = await import(base + 'db.js');
  const session = await dbm.getSession();
  const file = await (await fetch('%s')).blob();
  const worker = new Worker(base + 'photo-worker.js', {type: 'module'});
  const shot = await new Promise((resolve) => {
    worker.onmessage = ({data}) => resolve(data);
    worker.postMessage({n: 1, file});
  });
  worker.terminate();
  const owner = dbm.uuid(), id = dbm.uuid();
  const values = {owner_type: 'journal', owner_id: owner, sha256: shot.sha256, mime: shot.mime || 'image/jpeg',
                  bytes: shot.full.size, width: shot.width, height: shot.height, caption: null};
  const ops = [{op: dbm.uuid(), type: 'journal', id: owner, base: null, set: {text: '村东头水渠渗漏，拍照留存。'}},
               {op: dbm.uuid(), type: 'attachment', id, base: null, set: values}];
  const response = await fetch('/api/sync', {method: 'POST', credentials: 'omit',
    headers: {'Content-Type': 'application/json', Authorization: `Bearer ${session.token}`},
    body: JSON.stringify({device: session.device, cursor: null, ops})});
  const results = (await response.json()).results;
  if (!results || results.some((r) => r.status !== 'applied')) throw new Error(JSON.stringify(results));
  const db = await dbm.openUser(session.user.id);
  await dbm.inTx(db, ['records', 'photos'], 'readwrite', async (tx) => {
    tx.objectStore('records').put({id, type: 'attachment', version: results[1].version, state: 'confirmed',
                                   fields: values, server: values, author: session.user.username});
    tx.objectStore('photos').put({id, owner, full: shot.full, thumb: shot.thumb, bytes: shot.full.size,
                                  sent: 0, state: 'waiting', error: null});
  });
  db.close();
  return {id, bytes: shot.full.size};
}""" % PHOTO_URL

SEND = """async ({base}) => {
  const dbm = await import(base + 'db.js');
  const {sendPhotos} = await import(base + 'uploads.js');
  const session = await dbm.getSession();
  const db = await dbm.openUser(session.user.id);
  const left = await sendPhotos(db, session, true);
  const photos = await dbm.inTx(db, 'photos', 'readonly', (tx) => dbm.req(tx.objectStore('photos').getAll()));
  db.close();
  return {left, states: photos.map((p) => [p.state, p.sent])};
}"""


def module_base(page) -> str:
    return page.evaluate("document.querySelector('script[type=module]').src.replace(/[^/]*$/, '')")


def phone(browser, base: str, photo: bytes):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.route(f"**{PHOTO_URL}", lambda route: route.fulfill(body=photo, content_type="image/jpeg"))
    log_in(page, base, "shuji")
    modules = module_base(page)
    page.goto(f"{base}/offline")  # same origin, without field.js syncing (or sending photos) meanwhile
    return context, page, modules


def downscale(browser, base: str, photo: bytes, runs: int, rate: float, script: str = DOWNSCALE) -> dict:
    context, page, modules = phone(browser, base, photo)
    if rate != 1:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})
    result = page.evaluate(script, {"base": modules, "runs": runs})
    context.close()
    return result


def cut_upload(browser, base: str, photo: bytes, how: str) -> dict:
    """Upload the photo's 1600 px version; the PATCH that would carry bytes past half way is cut: its bytes
    never reach the server ("lost") or they do and only the answer is lost ("answer"). Then send again."""
    context, page, modules = phone(browser, base, photo)
    prepared = page.evaluate(PREPARE, {"base": modules})
    patches: list[tuple[int, int, str]] = []
    state = {"cut": False}

    def handle(route):
        request = route.request
        if request.method != "PATCH":
            return route.continue_()
        offset, size = int(request.headers["upload-offset"]), len(request.post_data_buffer or b"")
        if not state["cut"] and offset + size > prepared["bytes"] / 2:
            state["cut"] = True
            patches.append((offset, size, "cut"))
            if how == "answer":
                route.fetch()  # the server gets the chunk; the phone never hears back
            return route.abort("connectionreset")
        patches.append((offset, size, "sent"))
        return route.continue_()

    page.route("**/api/attachments/**", handle)
    first = page.evaluate(SEND, {"base": modules})
    second = page.evaluate(SEND, {"base": modules})
    context.close()
    return {"bytes": prepared["bytes"], "patches": patches, "first": first, "second": second}


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def report_downscale(label: str, result: dict, original: int) -> None:
    times = result["times"]
    print(f"  {label}: median {statistics.median(times):.0f} ms over {len(times)} runs "
          f"(first {times[0]:.0f} ms, min {min(times):.0f}, max {max(times):.0f})")
    print(f"    full {result['width']}×{result['height']} {result['full']} bytes ({kb(result['full'])}, "
          f"1/{original / result['full']:.1f} of the original), thumbnail {result['thumb']} bytes "
          f"({kb(result['thumb'])}, 1/{original / result['thumb']:.0f})")


def report_cut(how: str, result: dict) -> None:
    total = sum(size for _, size, _ in result["patches"])
    photo = result["bytes"]
    cut = next((size for _, size, kind in result["patches"] if kind == "cut"), 0)
    words = {"lost": "the chunk crossing 50 % is lost on the way (none of it reaches the server)",
             "answer": "the chunk crossing 50 % reaches the server, its answer is lost"}[how]
    print(f"  {words}:")
    print(f"    PATCHes (offset, body bytes): {[(o, s) for o, s, _ in result['patches']]}")
    print(f"    first run left {result['first']['left']['n']} photo, {result['first']['left']['bytes']} bytes; "
          f"after the second: {result['second']['states']}")
    print(f"    sent {total} bytes for a {photo}-byte photo: re-sent {total - photo} bytes "
          f"({(total - photo) / photo:.1%} of the photo; the cut chunk was {cut} bytes), "
          f"sent / photo = {total / photo:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--port", type=int, default=0, help="the demo server's port (0: any free one)")
    args = parser.parse_args()
    photo = camera_jpeg()
    gps = Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    print(f"original: {WIDTH}×{HEIGHT} camera-like JPEG (gradients, texture, sensor noise), quality 92, "
          f"EXIF with GPS {'yes' if gps else 'NO'}: {len(photo)} bytes ({len(photo) / 2**20:.2f} MB)")
    with demo_server(args.port) as base, chromium() as browser:
        print("photo-worker.js round trip (performance.now around postMessage → answer), phone context 360×740:")
        for label, rate, script in (
                ("in the worker, CPU as is", 1, DOWNSCALE),
                ("in the worker, the page throttled 4× (CDP refuses workers: only the page's side slows)", 4, DOWNSCALE),
                ("on the page's thread, CPU as is", 1, ON_PAGE),
                ("on the page's thread, throttled 4× (Emulation.setCPUThrottlingRate 4)", 4, ON_PAGE)):
            report_downscale(label, downscale(browser, base, photo, args.runs, rate, script), len(photo))
        print("uploads.js sendPhotos with a cut at half way, then sendPhotos again "
              "(bytes of every PATCH body the page sent):")
        for how in ("lost", "answer"):
            report_cut(how, cut_upload(browser, base, photo, how))


if __name__ == "__main__":
    main()
