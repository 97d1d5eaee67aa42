"""Photos: the attachment record as an op, and its bytes by the resumable upload (HEAD / PATCH / GET)."""
import hashlib
import io
import threading
import uuid

import pytest
from PIL import ExifTags, Image

from app.attachments import upload
from app.extensions import db
from app.models import Attachment
from tests.api.conftest import journal
from tests.conftest import PASSWORD, on_both_databases

database_url = on_both_databases()
CHUNK = "application/offset+octet-stream"


pytestmark = pytest.mark.usefixtures("photo_dir")


def jpeg(size=(64, 48), exif=None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(out, "JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


def attachment(owner_id, data, mime="image/jpeg", size=(64, 48), record_id=None, **fields):
    return {"op": str(uuid.uuid4()), "type": "attachment", "id": record_id or str(uuid.uuid4()), "base": None,
            "set": {"owner_type": "journal", "owner_id": owner_id, "sha256": hashlib.sha256(data).hexdigest(),
                    "mime": mime, "bytes": len(data), "width": size[0], "height": size[1], **fields}}


class Photos:
    """One phone's upload calls."""

    def __init__(self, phone):
        self.phone = phone
        self.auth = {"Authorization": f"Bearer {phone.token}"}

    def record(self, data, **fields):
        """A journal and a photo of it, synced; returns the photo's id."""
        owner = journal()
        op = attachment(owner["id"], data, **fields)
        results = self.phone.sync([owner, op]).get_json()["results"]
        assert [r["status"] for r in results] == ["applied", "applied"], results
        return op["id"]

    def head(self, record_id):
        return self.phone.client.head(f"/api/attachments/{record_id}", headers=self.auth)

    def patch(self, record_id, offset, body, **headers):
        return self.phone.client.patch(f"/api/attachments/{record_id}", data=body, headers={
            **self.auth, "Upload-Offset": str(offset), "Content-Type": CHUNK, "Tus-Resumable": "1.0.0", **headers})

    def get(self, record_id, **query):
        return self.phone.client.get(f"/api/attachments/{record_id}", query_string=query, headers=self.auth)

    def upload(self, record_id, data):
        response = self.patch(record_id, 0, data)
        assert response.status_code == 204, response.get_json()
        return response


@pytest.fixture
def photos(phone):
    return lambda username="sec1": Photos(phone(username))


def stored(app, record_id) -> Attachment:
    with app.app_context():
        row = db.session.get(Attachment, record_id)
        db.session.expunge(row)
        return row


def test_a_photo_uploads_in_two_chunks_resuming_where_it_stopped(photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    assert mine.head(record_id).headers["Upload-Offset"] == "0"
    assert mine.head(record_id).headers["Upload-Length"] == str(len(data))
    half = len(data) // 2
    first = mine.patch(record_id, 0, data[:half])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(half)
    # The phone lost its connection here; later it asks where to go on from.
    standing = mine.head(record_id)
    assert standing.status_code == 200 and standing.headers["Upload-Offset"] == str(half)
    assert standing.headers["Tus-Resumable"] == "1.0.0"
    assert mine.get(record_id).status_code == 404  # not all there yet
    rest = mine.patch(record_id, int(standing.headers["Upload-Offset"]), data[half:])
    assert rest.status_code == 204 and rest.headers["Upload-Offset"] == str(len(data))
    photo = mine.get(record_id)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.data == data  # a clean JPEG is kept byte for byte
    assert photo.headers["Cache-Control"] == "no-store"


def test_a_chunk_at_the_wrong_offset_is_refused_with_the_right_one(photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.patch(record_id, 0, data[:100])
    for offset in (0, 50, 200):
        response = mine.patch(record_id, offset, data[offset:])
        assert response.status_code == 409
        assert response.headers["Upload-Offset"] == "100"
        assert response.get_json()["error"]["code"] == "wrong_offset"
    assert mine.head(record_id).headers["Upload-Offset"] == "100"


def test_two_chunks_at_one_offset_append_once(app, photos):
    """A phone retrying while its first try still arrives: the second finds the offset moved."""
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    with app.app_context():
        upload.append(record_id, 0, data[:100])
        with pytest.raises(upload.Refused) as refused:
            upload.append(record_id, 0, data[:100])
    assert refused.value.status == 409 and refused.value.offset == 100
    assert stored(app, record_id).received == 100


def test_two_chunks_at_one_offset_at_the_same_moment_append_once(app, photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    start, outcomes = threading.Barrier(2), []

    def send():
        with app.app_context():
            start.wait()
            try:
                upload.append(record_id, 0, data[:100])
                outcomes.append("appended")
            except upload.Refused as refused:
                outcomes.append(refused.status)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == [409, "appended"]
    assert mine.head(record_id).headers["Upload-Offset"] == "100"


def test_bytes_with_the_wrong_digest_are_dropped(app, photos, photo_dir):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    lying = data[:-3] + b"\x00\x00\x00"
    response = mine.patch(record_id, 0, lying)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "digest_mismatch"
    assert response.headers["Upload-Offset"] == "0"
    assert mine.head(record_id).headers["Upload-Offset"] == "0"
    assert not [p for p in photo_dir.rglob("*") if p.is_file()]
    assert mine.get(record_id).status_code == 404
    mine.upload(record_id, data)  # and the phone can send it again from the start
    assert mine.get(record_id).data == data


def test_replaying_a_finished_upload_changes_nothing(app, photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    before = stored(app, record_id)
    for offset, body in ((0, data), (10, data[10:]), (len(data), b"")):
        replay = mine.patch(record_id, offset, body)
        assert replay.status_code == 204 and replay.headers["Upload-Offset"] == str(len(data))
    after = stored(app, record_id)
    assert (after.completed_at, after.stored_sha256, after.received) == \
           (before.completed_at, before.stored_sha256, before.received)
    assert mine.get(record_id).data == data


def test_another_villages_user_finds_no_such_photo(photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    for username in ("sec2", "sec12", "staff2"):
        other = photos(username)
        assert other.head(record_id).status_code == 404
        assert other.get(record_id).status_code == 404
        assert other.get(record_id, size="thumb").status_code == 404
    for username in ("sec2", "staff2"):
        assert photos(username).patch(record_id, 0, data).status_code == 404
    township = photos("staff1")  # the village's township sees it
    assert township.get(record_id).data == data
    assert township.head(record_id).status_code == 200
    assert photos("cadre1").get(record_id).data == data


def test_a_photo_of_another_villages_record_is_rejected(photos):
    theirs = photos("sec2").phone
    owner = journal()
    assert theirs.sync([owner]).get_json()["results"][0]["status"] == "applied"
    result = photos().phone.sync([attachment(owner["id"], jpeg())]).get_json()["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "not_found"


def test_a_photo_of_a_record_nobody_has_is_rejected(photos):
    result = photos().phone.sync([attachment(str(uuid.uuid4()), jpeg())]).get_json()["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "not_found"


def test_bytes_that_are_not_an_image_are_refused(photos, photo_dir):
    mine = photos()
    data = b"PK\x03\x04 this is a zip file, not a photo" * 20
    record_id = mine.record(data)
    response = mine.patch(record_id, 0, data)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "not_an_image"
    assert mine.head(record_id).headers["Upload-Offset"] == "0"
    assert not [p for p in photo_dir.rglob("*") if p.is_file()]


def test_a_png_declared_as_a_jpeg_is_refused(photos):
    mine, out = photos(), io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "PNG")
    record_id = mine.record(out.getvalue(), size=(20, 20))
    response = mine.patch(record_id, 0, out.getvalue())
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "wrong_type"


def test_a_photo_over_10_mb_is_rejected_and_a_chunk_past_the_declared_size_is_413(photos, photo_dir):
    mine = photos()
    owner = journal()
    op = attachment(owner["id"], b"x", bytes=10 * 1024 * 1024 + 1)
    results = mine.phone.sync([owner, op]).get_json()["results"]
    assert results[1]["status"] == "rejected" and results[1]["error"]["code"] == "too_large"
    data = jpeg()
    record_id = mine.record(data)
    response = mine.patch(record_id, 0, data + b"\x00" * 1000)
    assert response.status_code == 413 and response.headers["Upload-Offset"] == "0"
    assert mine.head(record_id).headers["Upload-Offset"] == "0"
    assert mine.patch(record_id, 0, b"\x00" * (50 * 1024 * 1024)).status_code == 413  # a 50 MB body
    assert not [p for p in photo_dir.rglob("*") if p.is_file()]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused(photos):
    """A 1-bit 10,000 × 10,000 PNG is a few KB on the wire and 100 megapixels decoded."""
    mine, out = photos(), io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, "PNG")
    data = out.getvalue()
    assert len(data) < 100_000
    record_id = mine.record(data, mime="image/png", size=(10000, 10000))
    response = mine.patch(record_id, 0, data)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "too_many_pixels"
    assert mine.head(record_id).headers["Upload-Offset"] == "0"


def test_metadata_is_stripped_and_the_photo_turned_upright(app, photos):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # taken with the phone on its side
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (30.0, 15.0, 7.0),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (104.0, 3.0, 1.0)}
    mine, data = photos(), jpeg((64, 48), exif)
    with Image.open(io.BytesIO(data)) as sent:
        assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    record_id = mine.record(data)
    response = mine.upload(record_id, data)
    assert response.headers["Upload-Offset"] == str(len(data))
    photo = mine.get(record_id)
    with Image.open(io.BytesIO(photo.data)) as kept:
        assert "exif" not in kept.info and not kept.getexif()
        assert not kept.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert kept.size == (48, 64)
    assert b"PhoneMaker" not in photo.data
    row = stored(app, record_id)
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.stored_sha256 == hashlib.sha256(photo.data).hexdigest() != row.sha256
    assert mine.head(record_id).headers["Upload-Offset"] == str(len(data))


def test_the_thumbnail_is_a_small_jpeg(photos):
    mine, out = photos(), io.BytesIO()
    Image.new("RGBA", (1000, 600), (20, 120, 20, 128)).save(out, "PNG")
    data = out.getvalue()
    record_id = mine.record(data, mime="image/png", size=(1000, 600))
    mine.upload(record_id, data)
    thumb = mine.get(record_id, size="thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(thumb.data)) as small:
        assert small.format == "JPEG" and small.size == (320, 192)
    assert len(thumb.data) < len(data)
    assert mine.get(record_id).mimetype == "image/png"
    assert mine.get(record_id, size="huge").status_code == 400


def test_only_the_village_uploads_and_only_chunks(photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    assert photos("staff1").patch(record_id, 0, data).status_code == 403
    wrong_type = mine.patch(record_id, 0, data, **{"Content-Type": "image/jpeg"})
    assert wrong_type.status_code == 415
    assert mine.patch(record_id, "-1", data).status_code == 400
    assert mine.patch(record_id, 0, data, **{"Tus-Resumable": "0.2.2"}).status_code == 412
    no_tus = mine.phone.client.patch(f"/api/attachments/{record_id}", data=data, headers={
        **mine.auth, "Upload-Offset": "0", "Content-Type": CHUNK})
    assert no_tus.status_code == 204 and no_tus.headers["Tus-Resumable"] == "1.0.0"
    anonymous = mine.phone.client.head(f"/api/attachments/{record_id}")
    assert anonymous.status_code == 401
    assert mine.head("not-a-uuid").status_code == 404


def test_the_file_a_record_describes_cannot_change_but_its_caption_can(photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    other = hashlib.sha256(b"another photo").hexdigest()
    change = {"op": str(uuid.uuid4()), "type": "attachment", "id": record_id, "base": 1, "set": {"sha256": other}}
    result = mine.phone.sync([change]).get_json()["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "forbidden"
    caption = {"op": str(uuid.uuid4()), "type": "attachment", "id": record_id, "base": 1,
               "set": {"caption": "修好的水渠", "sha256": hashlib.sha256(data).hexdigest()}}
    assert mine.phone.sync([caption]).get_json()["results"][0]["status"] == "applied"


@pytest.mark.parametrize("field, value, blamed", [
    ("sha256", "ABC", "sha256"), ("sha256", "g" * 64, "sha256"), ("mime", "image/gif", "mime"),
    ("width", 0, "width"), ("height", 20000, "height"),
    ("owner_type", "review", "owner_id"),  # no review of that id: the owner is looked up first
])
def test_a_record_with_bad_metadata_is_rejected(photos, field, value, blamed):
    mine = photos()
    owner = journal()
    op = attachment(owner["id"], jpeg(), **{field: value})
    result = mine.phone.sync([owner, op]).get_json()["results"][1]
    assert result["status"] == "rejected" and result["error"]["field"] == blamed


def test_the_township_pages_session_may_look_but_not_upload(app, photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    browser = app.test_client()
    assert browser.post("/login", data={"username": "staff1", "password": PASSWORD}).status_code == 302
    assert browser.get(f"/api/attachments/{record_id}?size=thumb").mimetype == "image/jpeg"
    assert browser.head(f"/api/attachments/{record_id}").status_code == 200
    refused = browser.patch(f"/api/attachments/{record_id}", data=data,
                            headers={"Upload-Offset": "0", "Content-Type": CHUNK})
    assert refused.status_code == 401


def test_a_chunk_may_be_larger_than_a_sync_request(photos):
    """The 8 MB bound of the JSON API is not the photos': a 9 MB chunk arrives (and here fails its digest)."""
    mine = photos()
    data = bytes(range(256)) * (9 * 4096)
    record_id = mine.record(b"something else", bytes=len(data))
    response = mine.patch(record_id, 0, data)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "digest_mismatch"


# ---------------------------------------------------------------- removing a photo taken by mistake

def change(record_id, base=None, **fields):
    return {"op": str(uuid.uuid4()), "type": "attachment", "id": record_id, "base": base, "set": fields}


def result_of(phone, op):
    return phone.sync([op]).get_json()["results"][0]


def test_a_removed_photo_leaves_storage_and_answers_404(app, photos, photo_dir):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    assert {p.name for p in photo_dir.iterdir()} >= {record_id, f"{record_id}.thumb.jpg"}
    assert result_of(mine.phone, change(record_id, base=1, removed=True))["status"] == "applied"

    assert not any(p.is_file() for p in photo_dir.rglob("*"))
    row = stored(app, record_id)
    assert row.removed and row.stored_key is None and row.thumb_key is None
    for username in ("sec1", "cadre1", "staff1"):
        who = photos(username)
        for answer in (who.get(record_id), who.get(record_id, size="thumb")):
            assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
        assert who.head(record_id).status_code == 404
    assert mine.patch(record_id, 0, data).status_code == 404
    pulled = photos("cadre1").phone.sync().get_json()["changes"]
    [record] = [c for c in pulled if c["id"] == record_id]
    assert record["fields"]["removed"] is True  # every phone of the village drops it


def test_a_new_photo_is_not_removed_and_the_schema_says_removing_is_one_way(client, photos):
    mine = photos()
    record_id = mine.record(jpeg())
    pulled = photos("cadre1").phone.sync().get_json()["changes"]
    assert next(c for c in pulled if c["id"] == record_id)["fields"]["removed"] is False
    served = client.get("/api/schema").get_json()["types"]["attachment"]["fields"]["removed"]
    assert served["kind"] == "bool" and served["one_way"] is True and served["default"] is False
    assert served["writers"] == ["cadre", "secretary"]


def test_a_partial_upload_is_deleted_and_a_chunk_after_removal_refused(app, photos, photo_dir):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    assert mine.patch(record_id, 0, data[:100]).status_code == 204
    assert (photo_dir / "partial" / record_id).exists()
    assert result_of(mine.phone, change(record_id, base=1, removed=True))["status"] == "applied"
    assert not (photo_dir / "partial" / record_id).exists()
    with app.app_context():  # a chunk that was already past the route when the photo was removed
        with pytest.raises(upload.Refused) as refused:
            upload.append(record_id, 100, data[100:])
    assert refused.value.status == 404 and refused.value.code == "not_found"
    assert not (photo_dir / "partial" / record_id).exists()
    assert stored(app, record_id).completed_at is None


def test_a_removed_photo_cannot_come_back(photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    assert result_of(mine.phone, change(record_id, base=1, removed=True))["status"] == "applied"
    for base in (2, 1):  # up to date, or a stale op of a phone that had not heard of the removal
        back = result_of(photos("cadre1").phone, change(record_id, base=base, removed=False))
        assert back["status"] == "rejected" and back["error"] == {
            "code": "forbidden", "message": "removed cannot be undone.", "field": "removed"}
    again = result_of(mine.phone, change(record_id, base=2, removed=True))
    assert again["status"] == "applied" and again["version"] == 2  # nothing changes


def test_the_township_cannot_remove_a_photo_nor_another_village(app, photos):
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    township = result_of(photos("staff1").phone, change(record_id, base=1, removed=True))
    assert township["status"] == "rejected" and township["error"]["code"] == "forbidden"
    for username in ("sec2", "sec12"):
        other = result_of(photos(username).phone, change(record_id, base=1, removed=True))
        assert other["status"] == "rejected" and other["error"]["code"] == "not_found"
    assert not stored(app, record_id).removed
    assert mine.get(record_id).data == data


def test_a_removal_that_is_rolled_back_keeps_the_files(app, photos, photo_dir):
    from app.sync_store import SqlStore
    from app import scope
    from app.models import User
    from sync.engine import apply_ops
    mine, data = photos(), jpeg()
    record_id = mine.record(data)
    mine.upload(record_id, data)
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "sec1"))
        [result] = apply_ops(SqlStore(), scope.actor(user), [change(record_id, base=1, removed=True)])
        assert result["status"] == "applied"
        db.session.flush()
        db.session.rollback()
    assert (photo_dir / record_id).exists() and (photo_dir / f"{record_id}.thumb.jpg").exists()
    assert mine.get(record_id).data == data
