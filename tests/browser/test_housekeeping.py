"""The phone's housekeeping (housekeeping.js prune): what is closed, confirmed and old leaves the phone with its
comments, attachment records and photos; nothing open, unsent, refused or recent does."""
import pytest

from .conftest import log_in, wait_synced

pytestmark = pytest.mark.browser

TODAY = "2026-06-30"  # eight weeks back is 2026-05-05; the window starts on the first of last month, 05-01
OLD = "2026-03-10T02:00:00.000Z"

# Each record: (id, type, fields, extra properties). Ids ending in "-gone" are the ones prune deletes.
RECORDS = [
    ("problem-gone", "problem", {"title": "水渠渗漏", "status": "resolved"}, {}),
    ("review-gone", "review", {"target_type": "problem", "target_id": "problem-gone", "comment": "已核实"}, {}),
    ("attachment-gone", "attachment", {"owner_type": "problem", "owner_id": "problem-gone"}, {}),
    ("request-gone", "request", {"content": "修路灯", "status": "closed"}, {}),
    ("task-gone", "task", {"title": "春耕统计", "status": "done"}, {}),
    ("journal-gone", "journal", {"date": "2026-03-09", "text": "走访5户"}, {}),
    ("journal-attachment-gone", "attachment", {"owner_type": "journal", "owner_id": "journal-gone"}, {}),
    ("deleted-gone", "problem", {"title": "重复录入", "status": "open"}, {"deleted": True}),
    ("orphan-review-gone", "review", {"target_type": "task", "target_id": "not-on-this-phone", "comment": "好"}, {}),
    ("open", "problem", {"title": "垃圾池满溢", "status": "in_progress"}, {}),
    ("in-outbox", "problem", {"title": "路面塌陷", "status": "resolved"}, {}),
    ("refused", "problem", {"title": "超长标题", "status": "resolved"}, {"state": "rejected"}),
    ("sent", "task", {"title": "报表", "status": "done"}, {"state": "sent"}),
    ("never-sent", "journal", {"date": "2026-03-09", "text": "未同步"}, {"version": None, "state": "waiting"}),
    ("conflicts", "problem", {"title": "两人同改", "status": "resolved"}, {"conflicts": [{"field": "title"}]}),
    ("last-month", "problem", {"title": "五月的问题", "status": "resolved"}, {"updatedAt": "2026-05-02T03:00:00.000Z"}),
    # 2026-04-30 17:00 UTC is 05-01 01:00 in Beijing: last month there.
    ("beijing-last-month", "request", {"content": "五一前", "status": "answered"}, {"updatedAt": "2026-04-30T17:00:00.000Z"}),
    ("edited-here-lately", "problem", {"title": "本机刚改", "status": "resolved"}, {"localAt": "2026-06-20T01:00:00.000Z"}),
    ("journal-dated-lately", "journal", {"date": "2026-05-20", "text": "补记"}, {}),
    ("journal-photo-waiting", "journal", {"date": "2026-03-09", "text": "照片未发"}, {}),
    ("attachment-waiting", "attachment", {"owner_type": "journal", "owner_id": "journal-photo-waiting"}, {}),
    ("with-unsent-comment", "problem", {"title": "有新批注", "status": "resolved"}, {}),
    ("unsent-comment", "review", {"target_type": "problem", "target_id": "with-unsent-comment", "comment": "回复"},
     {"state": "waiting"}),
    ("with-fresh-comment", "problem", {"title": "近期批注", "status": "verified"}, {}),
    ("fresh-comment", "review", {"target_type": "problem", "target_id": "with-fresh-comment", "comment": "请复查"},
     {"updatedAt": "2026-06-28T01:00:00.000Z"}),
    # An old meeting that an open request links to stays with it.
    ("linked-meeting", "meeting", {"date": "2026-03-05", "topic": "议事会"}, {}),
    ("linking-request", "request", {"content": "修桥", "status": "accepted", "meeting_id": "linked-meeting"}, {}),
]
OUTBOX = ["in-outbox", "unsent-comment"]
# Photos: (attachment id, owner, state). Only "done" ones have left their full bytes on the server.
PHOTOS = [("attachment-gone", "problem-gone", "done"), ("journal-attachment-gone", "journal-gone", "done"),
          ("attachment-waiting", "journal-photo-waiting", "waiting")]

PRUNE = """async ({records, outbox, photos, today}) => {
  const base = document.querySelector('script[type=module]').src.replace(/[^/]*$/, '');
  const { inTx, openUser, req, deleteUser } = await import(base + 'db.js');
  const { prune } = await import(base + 'housekeeping.js');  // the page's schema.js: the milestones are loaded
  await deleteUser('housekeeping-test');
  const db = await openUser('housekeeping-test');
  await inTx(db, ['records', 'outbox', 'photos'], 'readwrite', async (tx) => {
    for (const [id, type, fields, extra] of records) {
      tx.objectStore('records').put({ id, type, fields, version: 1, server: fields, state: 'confirmed',
        createdAt: '%s', updatedAt: '%s', author: 'sec1', ...extra });
    }
    for (const id of outbox) {
      tx.objectStore('outbox').add({ op: id + '-op', id, type: 'problem', base: 1, set: {}, sent: false });
    }
    for (const [id, owner, state] of photos) {
      const thumb = new Blob(['thumb'], { type: 'image/jpeg' });
      const full = state === 'done' ? null : new Blob(['full bytes'], { type: 'image/jpeg' });
      tx.objectStore('photos').put({ id, owner, full, thumb, bytes: 10, sent: 0, state, error: null });
    }
  });
  const counts = await prune(db, { today });
  const left = await inTx(db, ['records', 'photos'], 'readonly', async (tx) => ({
    records: await req(tx.objectStore('records').getAllKeys()),
    photos: await req(tx.objectStore('photos').getAllKeys()),
  }));
  const again = await prune(db, { today });
  db.close();
  await deleteUser('housekeeping-test');
  return { counts, left, again };
}""" % (OLD, OLD)


def test_prune_deletes_only_what_is_closed_confirmed_and_old_with_its_comments_and_photos(page, server):
    log_in(page, server)
    wait_synced(page)  # the page has loaded the schema (the milestones) by then
    result = page.evaluate(PRUNE, {"records": RECORDS, "outbox": OUTBOX, "photos": PHOTOS, "today": TODAY})
    kept = sorted(r[0] for r in RECORDS if not r[0].endswith("-gone"))
    assert sorted(result["left"]["records"]) == kept
    assert result["left"]["photos"] == ["attachment-waiting"]
    assert result["counts"] == {"records": len(RECORDS) - len(kept), "photos": 2}
    assert result["again"] == {"records": 0, "photos": 0}


@pytest.mark.parametrize(("today", "weeks", "first"), [
    ("2026-06-30", 8, "2026-05-01"),  # the first of last month is earlier than eight weeks back
    ("2026-06-01", 8, "2026-04-06"),  # eight weeks back is earlier
    ("2026-01-15", 8, "2025-11-20"),  # across the year
    ("2026-01-31", 2, "2025-12-01"),
])
def test_the_window_is_the_longer_of_the_weeks_and_this_and_last_month(page, server, today, weeks, first):
    log_in(page, server)
    got = page.evaluate("""async ([today, weeks]) => {
      const url = document.querySelector('script[type=module]').src.replace('field.js', 'housekeeping.js');
      return (await import(url)).windowStart(today, weeks);
    }""", [today, weeks])
    assert got == first
