"""GET /api/schema: the merge table of sync/types.py, served once, as the phone builds its forms from it."""
import datetime as dt

import pytest

from sync.types import SHANGHAI, TYPES
from tests.api.conftest import journal


def served(client, lang="zh_CN"):
    response = client.get(f"/api/schema?lang={lang}")
    assert response.status_code == 200
    return response.get_json()


def test_every_type_field_bound_and_move_of_the_table_is_served(client):
    body = served(client)
    assert set(body["types"]) == set(TYPES)
    for name, rtype in TYPES.items():
        served_type = body["types"][name]
        assert set(served_type["fields"]) == set(rtype.fields)
        assert served_type["writers"] == sorted(rtype.writers)
        assert served_type["milestone"] == list(rtype.milestone)
        for field, spec in rtype.fields.items():
            got = served_type["fields"][field]
            assert got["kind"] == spec.kind and got["required"] == spec.required
            assert got["writers"] == sorted(spec.writers if spec.writers is not None else rtype.writers)
            assert got["personal"] == spec.personal and got["township_only"] == spec.township_only
            if spec.kind == "text":
                assert got["max_length"] == spec.max_length
            if spec.kind == "int":
                assert (got["minimum"], got["maximum"]) == (spec.minimum, spec.maximum)
            if spec.kind in ("date", "week"):
                assert (got["days_back"], got["days_ahead"]) == (spec.days_back, spec.days_ahead)
            assert got.get("values", []) == list(spec.order)
            assert got.get("default") == rtype.defaults.get(field)
            assert got.get("why", "") == spec.why
            assert field in body["labels"]["types"][name]["fields"]
        assert len(served_type["statuses"]) == len(rtype.statuses)
        for rule, got in zip(rtype.statuses, served_type["statuses"]):
            assert got["field"] == rule.field and got["initial"] == rule.initial
            assert got["moves"] == {source: sorted(targets) for source, targets in rule.moves.items()}
            assert got["roles"] == {target: sorted(roles) for target, roles in rule.roles.items()}
            assert got["needs"] == rule.needs and got["dated"] == rule.dated
            assert {(n["from"], n["to"]): n["field"] for n in got["needs_new"]} == rule.needs_new


def test_the_journal_bounds_are_the_design_s(client):
    fields = served(client)["types"]["journal"]["fields"]
    assert (fields["date"]["days_back"], fields["date"]["days_ahead"]) == (366, 1)
    assert fields["text"]["max_length"] == 20000 and fields["text"]["required"]
    assert fields["visits"]["minimum"] == 0 and fields["visits"]["maximum"] == 200
    assert fields["visits"]["why"]


def test_labels_come_in_the_asked_language_and_the_copy_can_be_revalidated(client):
    chinese, english = served(client, "zh_CN"), served(client, "en")
    assert chinese["labels"]["types"]["problem"]["values"]["status"]["resolved"] == "已解决"
    assert english["labels"]["types"]["problem"]["values"]["status"]["resolved"] == "Resolved"
    assert chinese["labels"]["types"]["problem"]["moves"]["in_progress"] == "开始处理"
    assert chinese["version"] == english["version"]
    response = client.get("/api/schema?lang=zh-CN")
    assert response.get_json()["lang"] == "zh_CN"
    again = client.get("/api/schema?lang=zh-CN", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def _shanghai(days=0):
    return (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize("fields, code", [
    ({"date": _shanghai(2)}, "out_of_range"),            # the day after tomorrow
    ({"date": "1926-12-01"}, "out_of_range"),            # a century back
    ({"date": _shanghai(-367)}, "out_of_range"),         # more than a year back
    ({"visits": 99999}, "out_of_range"),                 # "走访 100008 户" in a week
    ({"visits": -1}, "out_of_range"),
    ({"text": "字" * 20001}, "too_long"),
])
def test_the_server_refuses_what_the_schema_bounds(phone, fields, code):
    good = journal("走访3户")
    body = phone().sync([journal(**({"text": "日志"} | fields)), good]).get_json()
    bad, applied = body["results"]
    assert bad["status"] == "rejected" and bad["error"]["code"] == code
    assert applied["status"] == "applied"


@pytest.mark.parametrize("fields", [{"date": _shanghai(1)}, {"date": _shanghai(-366)}, {"visits": 200},
                                    {"text": "字" * 20000}])
def test_the_bounds_themselves_are_accepted(phone, fields):
    [result] = phone().sync([journal(**({"text": "日志"} | fields))]).get_json()["results"]
    assert result["status"] == "applied"


def test_answering_a_request_dates_the_reply_today(phone):
    import uuid
    device = phone()
    request_id = str(uuid.uuid4())
    create = {"op": str(uuid.uuid4()), "type": "request", "id": request_id, "base": None,
              "set": {"content": "修路灯"}}
    device.sync([create])
    answer = {"op": str(uuid.uuid4()), "type": "request", "id": request_id, "base": 1,
              "set": {"status": "answered", "reply": "已报镇里"}}
    device.sync([answer])
    [change] = [c for c in device.sync(cursor=None).get_json()["changes"] if c["id"] == request_id]
    assert change["fields"]["replied_on"] == _shanghai()
