"""Photos on the phone: taken offline, kept through a reload, made small, sent after the records in chunks that
resume from the server's offset after a cut, and then kept on the phone only as a thumbnail."""
import base64
import gzip
import hashlib
import io
import json

import pytest
from PIL import ExifTags, Image
from playwright.sync_api import expect

from tests.conftest import PASSWORD

from .conftest import entry, item, log_in, open_view, records, sync_now, synced_then_offline, wait_synced

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("photo_dir")]

CHUNK = 64 * 1024


def camera_jpeg(size=(4000, 3000), orientation=None) -> bytes:
    """A 12-megapixel camera photo as a phone's camera app writes it: sensor-like noise over a scene, quality 92,
    with the place it was taken (GPS) and, if given, the EXIF orientation of a phone held upright."""
    width, height = size
    scene = Image.merge("RGB", [Image.linear_gradient("L").resize(size).rotate(angle, expand=False)
                                for angle in (0, 90, 180)])
    noise = Image.effect_noise(size, 64).convert("RGB")
    photo = Image.blend(scene, noise, 0.5)  # grainy, so the small photo still takes several chunks
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N",
                                              ExifTags.GPS.GPSLatitude: (30.0, 15.0, 0.0)})
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def phone_photos(page) -> list[dict]:
    """The phone's `photos` store, each blob as base64 (or None once dropped)."""
    return page.evaluate("""async () => {
      const { getSession, inTx, openUser, req } = await import(document.querySelector('script[type=module]').src.replace('field.js', 'db.js'));
      const db = await openUser((await getSession()).user.id);
      const all = await inTx(db, 'photos', 'readonly', (tx) => req(tx.objectStore('photos').getAll()));
      db.close();
      const b64 = async (blob) => {
        if (!blob) return null;
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(s);
      };
      return Promise.all(all.map(async (p) => ({ id: p.id, owner: p.owner, state: p.state, sent: p.sent,
        full: await b64(p.full), thumb: await b64(p.thumb) })));
    }""")


def thumbnail_shown(item) -> None:
    img = item.locator(".entry-photos .photo img")
    expect(img).to_have_count(1)
    img.evaluate("img => img.decode()")
    assert img.evaluate("img => img.naturalWidth") > 0


def test_a_photo_taken_offline_survives_reload_resumes_after_a_cut_and_leaves_only_its_thumbnail(
        context, page, server, app, photo_dir):
    patches = []
    page.on("request", lambda r: r.method == "PATCH" and patches.append(int(r.headers["upload-offset"])))
    synced_then_offline(context, page, server)

    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("村口水渠渗漏，拍照留底")
    camera = camera_jpeg(orientation=6)  # the phone held upright: 3000 wide, 4000 high once turned
    form.locator(".photo-take input").set_input_files({"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                                       "buffer": camera})
    expect(form.locator(".photo-list .photo img")).to_have_count(1)
    form.locator(".photo-caption").fill("渗漏处")
    form.locator("[type=submit]").click()
    expect(page.locator("#journal-saved")).not_to_be_empty()
    expect(form.locator(".photo-list .photo")).to_have_count(0)  # the form is ready for the next entry

    item = entry(page, "村口水渠渗漏")
    thumbnail_shown(item)
    expect(item.locator(".photo")).to_have_attribute("data-state", "waiting")
    page.reload()
    thumbnail_shown(item)
    assert not [hit for hit in server.app_hits() if "/api/" in hit], "offline: nothing reaches the server"

    [kept] = phone_photos(page)
    full = base64.b64decode(kept["full"])
    with Image.open(io.BytesIO(full)) as small:
        assert small.format in ("WEBP", "JPEG") and small.size == (1200, 1600), "upright, long edge 1600"
        assert not small.getexif(), "the place and camera are not kept"
    assert len(full) < len(camera) / 8 and len(full) > 2 * CHUNK

    # Online: the records go first; the browser does not say what the connection is, so the phone asks once.
    cut = {"done": False}

    def cut_the_second_chunk(route):
        offset = int(route.request.headers.get("upload-offset", "0"))
        if route.request.method == "PATCH" and offset > 0 and not cut["done"]:
            cut["done"] = True
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/api/attachments/*", cut_the_second_chunk)
    context.set_offline(False)
    expect(item).to_have_attribute("data-state", "confirmed")
    ask = page.locator("#photos-ask")
    expect(ask).to_be_visible()
    expect(page.locator("#sync-photos-text")).to_contain_text("照片待发送：1 张")
    assert patches == [], "photos wait until the person says"
    page.click("#photos-auto")
    expect(ask).to_be_hidden()
    _wait(lambda: cut["done"], message=lambda: f"{patches} {len(full)}")
    [row] = records(app, "Attachment")
    assert 0 < row["received"] < len(full), "the cut left half an upload on the server"
    expect(item.locator(".photo")).to_have_attribute("data-state", "waiting")

    page.unroute("**/api/attachments/*")
    received, before = row["received"], len(patches)
    sync_now(page)
    expect(item.locator(".photo")).to_have_attribute("data-state", "done")
    assert patches.count(0) == 1, f"never again from zero: {patches}"
    assert patches[before] == received, f"resumed from the server's offset {received}: {patches}"
    assert patches[before:] == list(range(received, len(full), CHUNK)), "each byte after the cut sent once"

    [row] = records(app, "Attachment")
    assert row["completed_at"] is not None and row["caption"] == "渗漏处"
    assert (row["width"], row["height"]) == (1200, 1600)
    files = [p for p in photo_dir.rglob("*") if p.is_file() and not p.name.endswith(".thumb.jpg")]
    assert len(files) == 1 and files[0].read_bytes() == full, "one file, byte for byte the phone's photo"
    assert row["sha256"] == hashlib.sha256(full).hexdigest()

    [kept] = phone_photos(page)
    assert kept["full"] is None and kept["thumb"], "only the thumbnail stays on the phone"
    page.reload()
    thumbnail_shown(item)
    expect(page.locator("#sync-photos")).to_be_hidden()

    # The township sees it.
    township = context.browser.new_context()
    desk = township.new_page()
    log_in_township(desk, server)
    [journal] = records(app, "Journal", text="村口水渠渗漏，拍照留底")
    desk.goto(f"{server}/township/records/journal/{journal['id']}")
    shown = desk.locator(f"#photo-{row['id']} img")
    expect(shown).to_be_visible()
    shown.evaluate("img => img.decode()")
    assert shown.evaluate("img => img.naturalWidth") > 0
    expect(desk.locator(f"#photo-{row['id']}")).to_contain_text("渗漏处")
    answer = desk.request.get(f"{server}/api/attachments/{row['id']}")
    assert answer.status == 200 and answer.body() == full
    township.close()


def _wait(condition, seconds=15, message=lambda: "timed out"):
    import time
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, message()
        time.sleep(0.05)


def log_in_township(page, server):
    page.goto(f"{server}/login")
    page.fill("#login-form [name=username]", "staff1")
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form [type=submit]")
    page.wait_for_url(f"{server}/township**")


def small_jpeg(color=(120, 90, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), color).save(out, "JPEG")
    return out.getvalue()


def add_photo(scope, data: bytes, name: str = "photo.jpg", caption: str | None = None) -> None:
    """Choose a photo from the album on the form or dialog `scope`, and wait until it is made small."""
    shown = scope.locator(".photo-list .photo")
    n = shown.count()
    scope.locator(".photo-pick input").set_input_files({"name": name, "mimeType": "image/jpeg", "buffer": data})
    expect(shown).to_have_count(n + 1)
    if caption:
        shown.nth(n).locator(".photo-caption").fill(caption)


def send_photos_whenever_there_is_signal(page) -> None:
    """Answer the phone's question once (the browser here does not say what the connection is), as a person would."""
    page.evaluate("""async () => {
      const { getSession, openUser, setMeta } = await import(document.querySelector('script[type=module]').src.replace('field.js', 'db.js'));
      const db = await openUser((await getSession()).user.id);
      await setMeta(db, 'photoSending', 'auto');
      db.close();
    }""")
    page.reload()
    wait_synced(page)


def refuse_every_op(route) -> None:
    """As if the server's rules had changed since the phone's copy: every op of the sync is refused."""
    raw = route.request.post_data_buffer
    body = json.loads(gzip.decompress(raw) if route.request.headers.get("content-encoding") == "gzip" else raw)
    route.fulfill(json={"results": [{"op": op["op"], "status": "rejected", "error": {
        "code": "invalid", "message": "no longer allowed"}} for op in body["ops"]],
        "changes": [], "cursor": body["cursor"], "more": False})


ON_MOBILE_DATA = """Object.defineProperty(navigator, 'connection', { configurable: true, value: Object.assign(
  new EventTarget(), { type: 'cellular', effectiveType: '3g' }) });"""


def test_on_mobile_data_photos_wait_for_send_now_and_records_do_not(context, page, server, app):
    context.add_init_script(ON_MOBILE_DATA)
    patches = []
    page.on("request", lambda r: r.method == "PATCH" and patches.append(r.url))
    log_in(page, server)
    wait_synced(page)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("看了新修的机耕道")
    add_photo(form, small_jpeg())
    form.locator("[type=submit]").click()
    item = entry(page, "新修的机耕道")
    expect(item).to_have_attribute("data-state", "confirmed")  # the record went at once
    expect(page.locator("#sync-photos-text")).to_contain_text("照片待发送：1 张，约")
    expect(page.locator("#sync-waiting")).to_have_text("待同步：0 条")  # the photo is counted as a photo, once
    expect(page.locator("#photos-send")).to_be_visible()
    expect(page.locator("#photos-ask")).to_be_hidden()  # the browser says it is mobile data: nothing to ask
    sync_now(page)
    assert patches == [], "no photo bytes over mobile data unless asked"
    [row] = records(app, "Attachment")
    assert row["completed_at"] is None

    page.click("#photos-send")
    expect(item.locator(".photo")).to_have_attribute("data-state", "done")
    expect(page.locator("#sync-photos")).to_be_hidden()
    [row] = records(app, "Attachment")
    assert row["completed_at"] is not None and len(patches) >= 1


def test_a_refused_photo_says_why_and_the_record_stays(context, page, server, app):
    log_in(page, server)
    wait_synced(page)
    send_photos_whenever_there_is_signal(page)
    page.route("**/api/attachments/*", lambda route: route.fulfill(
        status=422, content_type="application/json", headers={"Upload-Offset": "0"},
        body='{"error": {"code": "not_an_image", "message": "The bytes are not an image."}}')
        if route.request.method == "PATCH" else route.continue_())
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("议事亭开会，群众提了三条意见")
    add_photo(form, small_jpeg())
    form.locator("[type=submit]").click()
    item = entry(page, "议事亭开会")
    photo = item.locator(".photo")
    expect(photo).to_have_attribute("data-state", "failed")
    expect(photo.locator(".photo-state")).to_contain_text("服务器无法识别这张图片")
    expect(item).to_have_attribute("data-state", "confirmed")
    assert records(app, "Journal", text="议事亭开会，群众提了三条意见")
    expect(page.locator("#sync-photos")).to_be_hidden()  # nothing waits: it was refused, and says so

    photo.locator(".photo-remove").click()
    expect(item.locator(".photo")).to_have_count(0)
    expect(item).to_be_visible()
    expect(page.locator("#sync-waiting")).to_have_text("待同步：0 条")
    [row] = records(app, "Attachment")
    assert row["removed"], "the township does not wait for a photo that will never come"


def test_a_problem_with_a_photo_before_and_one_after(context, page, server, app):
    log_in(page, server)
    wait_synced(page)
    open_view(page, "problems")
    page.click("[data-new=problem]")
    form = page.locator("#problem-form")
    form.locator("[name=title]").fill("三组水渠堵塞")
    add_photo(form, small_jpeg((30, 90, 160)), caption="整改前")
    form.locator("[type=submit]").click()
    expect(form).to_be_hidden()
    problem = item(page, "problem", "三组水渠堵塞")
    expect(problem).to_have_attribute("data-state", "confirmed")
    expect(problem.locator(".entry-photos .photo")).to_have_count(1)

    problem.locator("[data-move=resolved]").click()
    dialog = page.locator("#prompt")
    expect(dialog.locator("#prompt-photos")).to_be_visible()
    dialog.locator("[name=text]").fill("组织村民清淤")
    add_photo(dialog, small_jpeg((60, 160, 60)), caption="整改后")
    dialog.locator("[type=submit]").click()
    expect(dialog).to_be_hidden()
    page.select_option("#problem-filter", "all")
    expect(problem).to_have_attribute("data-status", "resolved")
    expect(problem.locator(".entry-photos .photo")).to_have_count(2)
    expect(problem).to_have_attribute("data-state", "confirmed")
    [owner] = records(app, "Problem", title="三组水渠堵塞")
    shots = records(app, "Attachment", owner_id=owner["id"])
    assert sorted(r["caption"] for r in shots) == ["整改前", "整改后"]
    assert {r["owner_type"] for r in shots} == {"problem"}

    # Reopening asks for a reason, not for photos.
    problem.locator("[data-move=open]").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#prompt-photos")).to_be_hidden()
    page.click("#prompt-cancel")


def test_logging_out_keeps_a_photo_not_sent_yet_and_sends_it_after_the_next_login(context, page, server, app):
    context.add_init_script(ON_MOBILE_DATA)
    log_in(page, server)
    wait_synced(page)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("临走前拍的照片")
    add_photo(form, small_jpeg())
    form.locator("[type=submit]").click()
    expect(entry(page, "临走前拍的照片")).to_have_attribute("data-state", "confirmed")
    expect(page.locator("#photos-send")).to_be_visible()  # on mobile data: it waits

    page.click("#account-menu > summary")
    page.click("#logout")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()  # told that something stays
    page.click("#confirm-yes")
    page.wait_for_url(f"{server}/login")
    [row] = records(app, "Attachment")
    assert row["completed_at"] is None

    log_in(page, server)
    wait_synced(page)
    photo = entry(page, "临走前拍的照片").locator(".photo")
    expect(photo).to_have_attribute("data-state", "waiting")
    page.click("#photos-send")
    expect(photo).to_have_attribute("data-state", "done")
    [row] = records(app, "Attachment")
    assert row["completed_at"] is not None


def test_a_photo_taken_on_another_phone_comes_as_its_thumbnail_once(context, page, server, app):
    import uuid

    from sqlalchemy import select

    from app.attachments import upload
    from app.extensions import db
    from app.models import User
    from app.sync_service import submit
    data, journal, photo = small_jpeg((200, 60, 60)), str(uuid.uuid4()), str(uuid.uuid4())
    with app.app_context():
        cadre = db.session.scalar(select(User).where(User.username == "cadre1"))
        results = submit(cadre, [
            {"op": str(uuid.uuid4()), "type": "journal", "id": journal, "base": None, "set": {"text": "另一部手机记的日志"}},
            {"op": str(uuid.uuid4()), "type": "attachment", "id": photo, "base": None, "set": {
                "owner_type": "journal", "owner_id": journal, "sha256": hashlib.sha256(data).hexdigest(),
                "mime": "image/jpeg", "bytes": len(data), "width": 800, "height": 600, "caption": "村口"}}])
        assert [r["status"] for r in results] == ["applied", "applied"], results
        upload.append(photo, 0, data)

    thumbs = []
    page.on("request", lambda r: "size=thumb" in r.url and thumbs.append(r.url))
    log_in(page, server)
    wait_synced(page)
    card = entry(page, "另一部手机记的日志")
    thumbnail_shown(card)  # small, so it comes with the records, whatever the connection
    expect(card.locator(".photo-elsewhere")).to_have_count(0)
    page.reload()
    wait_synced(page)
    thumbnail_shown(card)
    assert len(thumbs) == 1, "kept on the phone, fetched once"

    with app.app_context():  # the other phone takes it back
        cadre = db.session.scalar(select(User).where(User.username == "cadre1"))
        [result] = submit(cadre, [{"op": str(uuid.uuid4()), "type": "attachment", "id": photo, "base": 1,
                                   "set": {"removed": True}}])
        assert result["status"] == "applied", result
    sync_now(page)
    expect(card.locator(".entry-photos .photo")).to_have_count(0)
    assert phone_photos(page) == [], "its thumbnail has left this phone too"


def test_discarding_a_refused_new_record_takes_its_photo_along_and_undo_brings_both_back(context, page, server, app):
    log_in(page, server)
    wait_synced(page)

    context.route("**/api/sync", refuse_every_op)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("被驳回的日志")
    add_photo(form, small_jpeg())
    form.locator("[type=submit]").click()
    card = entry(page, "被驳回的日志")
    expect(card).to_have_attribute("data-state", "rejected")
    expect(card.locator(".photo")).to_have_attribute("data-state", "failed")
    context.unroute("**/api/sync")

    card.locator(".entry-discard").click()
    page.click("#confirm-yes")
    expect(card).to_have_count(0)
    expect(page.locator("#sync-rejected")).to_be_hidden()  # nothing refused is left behind without its card
    page.click("#undo-button")
    expect(card.locator(".photo")).to_have_count(1)
    expect(page.locator("#sync-rejected")).to_contain_text("2")


def test_a_photo_the_phone_cannot_make_small_is_named_and_the_entry_still_saves(context, page, server, app):
    context.route("**/photo-worker.js", lambda route: route.fulfill(status=404, body="gone"))
    log_in(page, server)
    wait_synced(page)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("照片打不开也要能保存")
    form.locator(".photo-pick input").set_input_files({"name": "IMG_0002.jpg", "mimeType": "image/jpeg",
                                                       "buffer": small_jpeg()})
    expect(form.locator(".photo-note")).to_contain_text("IMG_0002.jpg")  # which photo, and that it failed
    expect(form.locator(".photo-list .photo")).to_have_count(0)
    form.locator("[type=submit]").click()
    expect(page.locator("#journal-saved")).not_to_be_empty()  # the save did not wait for ever
    card = entry(page, "照片打不开也要能保存")
    expect(card).to_have_attribute("data-state", "confirmed")
    assert records(app, "Attachment") == []


def test_a_refused_new_record_saved_again_sends_its_photo_again(context, page, server, app):
    log_in(page, server)
    wait_synced(page)
    send_photos_whenever_there_is_signal(page)

    context.route("**/api/sync", refuse_every_op)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("先被驳回再改好的日志")
    add_photo(form, small_jpeg(), caption="改好后照片还在")
    form.locator("[type=submit]").click()
    card = entry(page, "先被驳回再改好的日志")
    expect(card).to_have_attribute("data-state", "rejected")
    context.unroute("**/api/sync")

    card.locator(".entry-edit").click()
    form.locator("[name=text]").fill("先被驳回再改好的日志（已改）")
    form.locator("[type=submit]").click()
    card = entry(page, "（已改）")
    expect(card).to_have_attribute("data-state", "confirmed")
    expect(card.locator(".photo")).to_have_attribute("data-state", "done")
    expect(card.locator(".photo-caption-text")).to_have_text("改好后照片还在")
    [row] = records(app, "Attachment")
    assert row["completed_at"] is not None and row["caption"] == "改好后照片还在"


def test_a_photo_taken_by_mistake_is_removed_everywhere_and_a_caption_can_change(context, page, server, app,
                                                                                  photo_dir):
    log_in(page, server)
    wait_synced(page)
    send_photos_whenever_there_is_signal(page)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("走访时误拍了身份证")
    add_photo(form, small_jpeg((90, 90, 200)), caption="院子")
    add_photo(form, small_jpeg((200, 200, 90)), caption="身份证")
    form.locator("[type=submit]").click()
    card = entry(page, "误拍了身份证")
    photos = card.locator(".entry-photos .photo")
    expect(photos.nth(0)).to_have_attribute("data-state", "done")
    expect(photos.nth(1)).to_have_attribute("data-state", "done")

    sheet = page.locator("#photo-sheet")
    photos.filter(has_text="院子").locator(".photo-open").click()
    expect(sheet).to_be_visible()
    sheet.locator("[name=caption]").fill("王家院子")
    sheet.locator("[type=submit]").click()
    expect(sheet).to_be_hidden()
    expect(card.locator(".photo-caption-text", has_text="王家院子")).to_be_visible()

    photos.filter(has_text="身份证").locator(".photo-open").click()
    page.click("#photo-sheet-remove")
    page.click("#confirm-yes")
    expect(card.locator(".entry-photos .photo")).to_have_count(1)
    expect(page.locator("#sync-waiting")).to_have_text("待同步：0 条")  # the removal has reached the server
    rows = {r["caption"]: r for r in records(app, "Attachment")}
    assert rows["身份证"]["removed"] and not rows["王家院子"]["removed"]
    left = [p.name for p in photo_dir.rglob("*") if p.is_file()]
    assert not [name for name in left if rows["身份证"]["id"] in name], "its file and thumbnail are gone"
    assert [name for name in left if rows["王家院子"]["id"] in name]
    page.reload()
    expect(card.locator(".entry-photos .photo")).to_have_count(1)


def test_without_an_offscreen_canvas_the_page_makes_the_photo_small_itself(context, page, server, app):
    context.add_init_script("delete globalThis.OffscreenCanvas;")  # a browser like Safari before 16.4
    workers = []
    page.on("worker", lambda worker: workers.append(worker.url))
    log_in(page, server)
    wait_synced(page)
    form = page.locator("#journal-form")
    form.locator("[name=text]").fill("老手机上拍的照片")
    form.locator(".photo-take input").set_input_files({"name": "IMG_0003.jpg", "mimeType": "image/jpeg",
                                                       "buffer": camera_jpeg(orientation=6)})
    expect(form.locator(".photo-list .photo img")).to_have_count(1)
    form.locator("[type=submit]").click()
    thumbnail_shown(entry(page, "老手机上拍的照片"))
    [kept] = phone_photos(page)
    with Image.open(io.BytesIO(base64.b64decode(kept["full"]))) as small:
        assert small.format == "JPEG" and small.size == (1200, 1600) and not small.getexif()
    assert not [url for url in workers if "photo-worker" in url], "no worker was needed"
