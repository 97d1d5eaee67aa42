"""Photos on the township's pages (the record page, the lists, the review queue, the history) and in the
export zip: in scope only, one query for a page's photos, and a photo not yet uploaded said in words."""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
import sqlite3
import tempfile
import uuid
import zipfile

import pytest
from PIL import Image
from sqlalchemy import event

from app.cli import add_unit, add_user
from app.extensions import db
from app.models import Attachment
from tests.api.conftest import Phone
from tests.conftest import PASSWORD, on_both_databases

database_url = on_both_databases()
CHUNK = "application/offset+octet-stream"


pytestmark = pytest.mark.usefixtures("photo_dir")


def jpeg(size=(64, 48), colour=(180, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def png(size=(40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 20)).save(out, "PNG")
    return out.getvalue()


def op(rtype, fields, record_id=None):
    return {"op": str(uuid.uuid4()), "type": rtype, "id": record_id or str(uuid.uuid4()), "base": None,
            "set": fields, "at": "2026-03-02T09:30:00+08:00"}


class Village:
    """A village phone: its records and their photos, synced and uploaded as the phone does."""

    def __init__(self, client, username):
        self.phone = Phone(client, username)
        self.auth = {"Authorization": f"Bearer {self.phone.token}"}

    def sync(self, *ops):
        results = self.phone.sync(list(ops)).get_json()["results"]
        assert all(r["status"] == "applied" for r in results), results
        return [o["id"] for o in ops]

    def record(self, rtype, **fields):
        return self.sync(op(rtype, fields))[0]

    def photo(self, owner_type, owner_id, data=None, mime="image/jpeg", size=(64, 48), upload=True, **fields):
        data = data if data is not None else jpeg(size)
        [photo_id] = self.sync(op("attachment", {
            "owner_type": owner_type, "owner_id": owner_id, "sha256": hashlib.sha256(data).hexdigest(),
            "mime": mime, "bytes": len(data), "width": size[0], "height": size[1], **fields}))
        if upload:
            response = self.phone.client.patch(f"/api/attachments/{photo_id}", data=data, headers={
                **self.auth, "Upload-Offset": "0", "Content-Type": CHUNK})
            assert response.status_code == 204, response.get_json()
        return photo_id


@pytest.fixture
def village(client, world):
    return lambda username="sec1": Village(client, username)


def log_in(app, username, lang="en"):
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    browser.set_cookie("lang", lang)
    return browser


def page(browser, path, status=200):
    response = browser.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


@contextlib.contextmanager
def statements(app):
    """The SQL statements the block runs, as a list filled in while it runs."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# ---------------------------------------------------------------- the record page and its history

def test_the_record_page_shows_its_photos_and_says_which_have_not_arrived(app, village):
    sec1 = village()
    problem = sec1.record("problem", title="村东头水渠渗漏")
    shown = sec1.photo("problem", problem, size=(640, 480), caption="渗漏处")
    waiting = sec1.photo("problem", problem, size=(300, 400), upload=False, caption="另一处")
    html = page(log_in(app, "staff1"), f"/township/records/problem/{problem}")

    section = re.search(r'<section class="tw-photos" id="photos".*?</section>', html, re.S).group(0)
    assert "Photos (2)" in section
    first = re.search(rf'<li class="tw-photo" id="photo-{shown}">.*?</li>', section, re.S).group(0)
    assert f'href="/api/attachments/{shown}"' in first
    img = re.search(r"<img [^>]*>", first).group(0)
    assert f'src="/api/attachments/{shown}?size=thumb"' in img
    assert 'loading="lazy"' in img and 'width="160"' in img and 'height="120"' in img and 'alt="渗漏处"' in img
    assert "渗漏处" in first and "sec1" in first
    second = re.search(rf'<li class="tw-photo" id="photo-{waiting}">.*?</li>', section, re.S).group(0)
    assert "<img" not in second and "Photo not uploaded yet" in second and "另一处" in second
    assert "tw-photo-missing-big portrait" in second  # a box of the photo's shape, not a broken image

    zh = page(log_in(app, "staff1", "zh"), f"/township/records/problem/{problem}")
    assert "照片尚未上传完" in zh


def test_the_history_says_when_a_photo_was_added(app, village):
    sec1 = village()
    journal = sec1.record("journal", text="走访5户")
    sec1.photo("journal", journal, caption="村口")
    sec1.photo("journal", journal)
    html = page(log_in(app, "staff1"), f"/township/records/journal/{journal}")
    entries = re.findall(r'<li class="tw-entry" id="history-(\d+)">(.*?)</li>', html, re.S)
    assert [number for number, _ in entries] == ["1", "2", "3"]
    assert "Photo added" not in entries[0][1]  # the journal itself came first
    assert "Photo added: 村口" in entries[1][1] and "sec1" in entries[1][1]
    assert "Photo added</a>" in entries[2][1]
    zh = page(log_in(app, "staff1", "zh"), f"/township/records/journal/{journal}")
    assert "照片已添加：村口" in zh


def test_another_townships_photos_are_not_found(app, village):
    sec2 = village("sec2")
    problem = sec2.record("problem", title="三村的问题")
    photo = sec2.photo("problem", problem)
    staff1 = log_in(app, "staff1")
    page(staff1, f"/township/records/problem/{problem}", 404)
    assert staff1.get(f"/api/attachments/{photo}").status_code == 404
    assert staff1.get(f"/api/attachments/{photo}?size=thumb").status_code == 404
    assert photo not in page(staff1, "/township/problems") + page(staff1, "/township/review")

    staff2 = log_in(app, "staff2")
    assert f'id="photo-{photo}"' in page(staff2, f"/township/records/problem/{problem}")
    full = staff2.get(f"/api/attachments/{photo}")
    assert full.status_code == 200 and full.headers["Cache-Control"] == "no-store"


def test_a_deleted_photo_is_not_shown(app, village):
    sec1 = village()
    problem = sec1.record("problem", title="水渠")
    photo = sec1.photo("problem", problem, caption="删掉的")
    with app.app_context():  # tombstones come from the server's side; the protocol has no delete op
        db.session.get(Attachment, photo).deleted = True
        db.session.commit()
    html = page(log_in(app, "staff1"), f"/township/records/problem/{problem}")
    assert 'id="photos"' not in html and "删掉的" not in html


# ---------------------------------------------------------------- lists and the review queue

def test_lists_show_their_records_photos(app, village):
    sec1 = village()
    journal = sec1.record("journal", text="走访")
    for n in range(5):
        sec1.photo("journal", journal, caption=f"第{n}张", upload=n != 4)
    problem = sec1.record("problem", title="路灯坏了")
    sec1.photo("problem", problem)
    sec1.photo("problem", problem, upload=False)
    meeting = sec1.record("meeting", topic="茶话会", date="2026-03-01")
    sec1.photo("meeting", meeting)
    request = sec1.record("request", content="修路灯", meeting_id=meeting)
    sec1.photo("request", request)
    task = sec1.record("task", title="清理水渠")
    sec1.photo("task", task)
    plain = sec1.record("problem", title="没有照片的问题")
    staff1 = log_in(app, "staff1")

    journals = page(staff1, "/township/journals")
    card = re.search(rf'<li class="tw-journal" id="journal-{journal}">.*?</li>', journals, re.S).group(0)
    assert card.count('class="tw-photo-img"') == 4 and 'width="48" height="36"' in card
    assert f'href="/township/records/journal/{journal}#photos">+1</a>' in card

    problems = page(staff1, "/township/problems")
    row = re.search(rf'<tr id="problem-{problem}".*?</tr>', problems, re.S).group(0)
    assert re.search(r'data-photos="2"[^>]*><svg class="tw-camera".*?</svg> <span aria-hidden="true">2</span>'
                     r'<span class="visually-hidden">2 photos</span></a>', row)
    assert "tw-camera" not in re.search(rf'<tr id="problem-{plain}".*?</tr>', problems, re.S).group(0)
    for path, prefix, record in (("/township/meetings", "meeting", meeting), ("/township/requests", "request", request),
                                 ("/township/tasks", "task", task)):
        row = re.search(rf'<tr id="{prefix}-{record}".*?</tr>', page(staff1, path), re.S).group(0)
        assert 'data-photos="1"' in row and "1 photo</span></a>" in row, path

    queue = page(staff1, "/township/review")
    item = re.search(rf'<li class="tw-queue-item[^"]*" id="queue-problem-{problem}".*?</li>', queue, re.S).group(0)
    assert item.count('class="tw-photo-img"') == 1 and "tw-photo-missing" in item
    digest = re.search(r'<section class="tw-digest".*?</section>', queue, re.S).group(0)
    assert 'data-photos="5"' in digest and "5 photos" in digest


def page_statements(app, browser, path) -> int:
    browser.get(path)  # warm: the session, the per-process caches
    with statements(app) as seen:
        assert browser.get(path).status_code == 200
    return len(seen)


@pytest.mark.parametrize("path, rtype", [("/township/problems", "problem"), ("/township/journals", "journal"),
                                         ("/township/tasks", "task"), ("/township/review", "problem")])
def test_a_pages_photos_take_one_query_however_many_records_have_them(app, village, path, rtype):
    sec1 = village()
    fields = {"journal": {"text": "走访"}, "problem": {"title": "问题"}, "task": {"title": "任务"}}[rtype]
    first = sec1.record(rtype, **fields)
    staff1 = log_in(app, "staff1")
    without = page_statements(app, staff1, path)
    sec1.photo(rtype, first)
    with_one = page_statements(app, staff1, path)
    for _ in range(4):
        record = sec1.record(rtype, **fields)
        sec1.photo(rtype, record)
        sec1.photo(rtype, record, upload=False)
    with_many = page_statements(app, staff1, path)
    assert with_many == with_one, (without, with_one, with_many)
    assert with_one <= without + 1
    assert page(staff1, path).count("/api/attachments/") >= (9 if rtype == "journal" or "review" in path else 0)


# ---------------------------------------------------------------- the export

def other_county(app):
    """A second county with a village and its secretary, beside the world's."""
    with app.app_context():
        add_unit("C2", "邻县", "county", None)
        add_unit("T9", "九镇", "township", "C2")
        add_unit("V91", "九村", "village", "T9")
        add_user("sec9", "secretary", "V91", PASSWORD)
        db.session.commit()


def read_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_the_zip_export_holds_the_sqlite_and_exactly_the_completed_photos_in_scope(app, client, village):
    other_county(app)
    sec1, sec2, sec9 = village("sec1"), village("sec2"), village("sec9")
    journal = sec1.record("journal", text="走访")
    mine = {sec1.photo("journal", journal, jpeg((64, 48))): ("jpg", jpeg((64, 48))),
            sec1.photo("journal", journal, png(), mime="image/png", size=(40, 40)): ("png", png())}
    waiting = sec1.photo("journal", journal, upload=False)
    problem = sec2.record("problem", title="二镇的")
    neighbour = {sec2.photo("problem", problem, jpeg((50, 50), (1, 2, 3)), size=(50, 50)): jpeg((50, 50), (1, 2, 3))}
    elsewhere = sec9.photo("journal", sec9.record("journal", text="邻县"))

    staff1 = log_in(app, "staff1")
    assert 'href="/township/export.zip"' in page(staff1, "/township/reports/weekly")
    response = staff1.get("/township/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "zhucun-export.zip" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    archive = read_zip(response)
    assert archive.testzip() is None
    expected = {f"photos/{i}.{ext}": data for i, (ext, data) in mine.items()}
    assert set(archive.namelist()) == {"zhucun-export.sqlite", *expected}
    for name, data in expected.items():
        assert archive.read(name) == data
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as file:
        file.write(archive.read("zhucun-export.sqlite"))
        file.flush()
        listed = dict(sqlite3.connect(file.name).execute("SELECT id, file FROM attachments"))
    assert set(mine) | {waiting} == set(listed)
    assert {listed[i] for i in mine} == set(expected) and listed[waiting] is None, "each row names its file"

    admin = read_zip(log_in(app, "admin").get("/township/export.zip"))
    names = set(admin.namelist())
    assert {f"photos/{i}.jpg" for i in neighbour} <= names
    assert not any(elsewhere in name or waiting in name for name in names)
    assert len(names) == 1 + len(mine) + len(neighbour)


def test_the_zip_export_needs_a_township_login(app, client, world):
    response = client.get("/township/export.zip")
    assert response.status_code in (302, 401)
    assert log_in(app, "sec1").get("/township/export.zip").status_code in (302, 403)


def test_a_resolved_problems_photos_of_the_fix_are_marked_after_it(app, village):
    phone = village()
    problem = phone.record("problem", title="三组水渠堵塞")
    before = phone.photo("problem", problem, caption="整改前")
    phone.sync({"op": str(uuid.uuid4()), "type": "problem", "id": problem, "base": 1,
                "set": {"status": "resolved", "resolution": "清淤完毕"}},
               op("attachment", {"owner_type": "problem", "owner_id": problem, "caption": "整改后",
                                 "sha256": hashlib.sha256(jpeg()).hexdigest(), "mime": "image/jpeg",
                                 "bytes": len(jpeg()), "width": 64, "height": 48}))
    html = page(log_in(app, "staff1", lang="zh_CN"), f"/township/records/problem/{problem}")
    marked = html.split('id="photo-')
    assert len(marked) == 3
    of_before = next(part for part in marked if part.startswith(before))
    of_after = next(part for part in marked[1:] if not part.startswith(before))
    assert "整改后</span>" in of_after and "tw-photo-after" in of_after
    assert "tw-photo-after" not in of_before.split("</li>")[0]


# ---------------------------------------------------------------- a photo taken back by the village

def remove(village_phone, photo_id, base=1):
    village_phone.sync({"op": str(uuid.uuid4()), "type": "attachment", "id": photo_id, "base": base,
                        "set": {"removed": True}, "at": "2026-03-02T10:15:00+08:00"})


def test_a_removed_photo_is_nowhere_on_the_townships_pages(app, village):
    sec1, cadre1 = village(), village("cadre1")
    journal = sec1.record("journal", text="走访")
    kept = sec1.photo("journal", journal, caption="村口")
    gone = sec1.photo("journal", journal, caption="身份证")
    problem = sec1.record("problem", title="路灯")
    only = sec1.photo("problem", problem, caption="孩子")
    remove(cadre1, gone)
    remove(sec1, only)
    staff1 = log_in(app, "staff1")

    html = page(staff1, f"/township/records/journal/{journal}")
    assert f'id="photo-{kept}"' in html and gone not in html and "身份证" not in html
    assert "Photos (1)" in html
    record = page(staff1, f"/township/records/problem/{problem}")
    assert 'id="photos"' not in record and only not in record and "孩子" not in record
    journals = page(staff1, "/township/journals")
    card = re.search(rf'<li class="tw-journal" id="journal-{journal}">.*?</li>', journals, re.S).group(0)
    assert card.count('class="tw-photo-img"') == 1 and gone not in card
    row = re.search(rf'<tr id="problem-{problem}".*?</tr>', page(staff1, "/township/problems"), re.S).group(0)
    assert "tw-camera" not in row
    queue = page(staff1, "/township/review")
    item = re.search(rf'<li class="tw-queue-item[^"]*" id="queue-problem-{problem}".*?</li>', queue, re.S).group(0)
    assert "tw-photo" not in item and only not in queue and gone not in queue
    for photo in (gone, only):
        assert staff1.get(f"/api/attachments/{photo}").status_code == 404
        assert staff1.get(f"/api/attachments/{photo}?size=thumb").status_code == 404


def test_the_review_digest_does_not_count_a_removed_photo(app, village):
    """(Needs review_digest.py's count to leave removed photos out.)"""
    sec1 = village()
    journal = sec1.record("journal", text="走访")
    sec1.photo("journal", journal)
    remove(sec1, sec1.photo("journal", journal))
    digest = re.search(r'<section class="tw-digest".*?</section>', page(log_in(app, "staff1"), "/township/review"),
                       re.S).group(0)
    assert 'data-photos="1"' in digest and "1 photo" in digest


def test_the_history_says_a_photo_was_removed_by_whom_and_when(app, village):
    """(Needs record_routes.py to hand `photos.removed_of` to `records.with_photos`.)"""
    sec1, cadre1 = village(), village("cadre1")
    problem = sec1.record("problem", title="水渠")
    remove(cadre1, sec1.photo("problem", problem, caption="身份证"))
    html = page(log_in(app, "staff1"), f"/township/records/problem/{problem}")
    entries = re.findall(r'<li class="tw-entry" id="history-(\d+)">(.*?)</li>', html, re.S)
    assert [number for number, _ in entries] == ["1", "2"]
    assert "Photo added" not in html and "身份证" not in html
    removal = entries[1][1]
    assert "Photo removed" in removal and "cadre1" in removal and "2026-03-02 10:15" in removal
    assert "on the phone" in removal
    zh = page(log_in(app, "staff1", "zh"), f"/township/records/problem/{problem}")
    assert "照片已删除" in zh


def test_the_zip_export_leaves_a_removed_photo_out_and_lists_it_removed(app, village):
    sec1 = village()
    journal = sec1.record("journal", text="走访")
    kept = sec1.photo("journal", journal)
    gone = sec1.photo("journal", journal, jpeg((50, 50)), size=(50, 50))
    remove(sec1, gone)
    archive = read_zip(log_in(app, "staff1").get("/township/export.zip"))
    assert set(archive.namelist()) == {"zhucun-export.sqlite", f"photos/{kept}.jpg"}
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as file:
        file.write(archive.read("zhucun-export.sqlite"))
        file.flush()
        listed = dict(sqlite3.connect(file.name).execute("SELECT id, removed FROM attachments"))
    assert listed == {kept: 0, gone: 1}
