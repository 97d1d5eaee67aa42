"""The sync API over HTTP, on SQLite and PostgreSQL: envelope, idempotency, rejections, scope, auth."""
import uuid

from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, Journal, OpLog, utcnow

from .conftest import journal


def count_journals(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Journal))


def test_token_is_issued_for_good_credentials_and_only_its_hash_is_stored(app, client, world):
    response = client.post("/api/auth/token", json={"username": "sec1", "password": "correct-horse-1",
                                                    "device_name": "红米"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "device", "user"}
    assert body["user"] == {"id": body["user"]["id"], "username": "sec1", "name": "sec1", "role": "secretary",
                            "unit": {"code": "V11", "name": "一村", "level": "village"}}
    with app.app_context():
        device = db.session.get(Device, body["device"])
        assert device.name == "红米" and body["token"] not in device.token_hash


def test_wrong_password_is_a_json_401(client, world):
    response = client.post("/api/auth/token", json={"username": "sec1", "password": "nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bad_credentials"


def test_sync_envelope_shape(app, phone):
    sec1 = phone("sec1")
    op = journal("今天走访了村东组", date="2026-11-20", visits=3)
    response = sec1.sync([op])
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"results", "changes", "cursor", "more"}
    assert body["results"] == [{"op": op["op"], "status": "applied", "version": 1}]
    [change] = body["changes"]
    assert change["type"] == "journal" and change["id"] == op["id"] and change["version"] == 1
    assert change["deleted"] is False and change["unit"] == "V11" and change["author"] == "sec1"
    assert change["fields"] == {"date": "2026-11-20", "text": "今天走访了村东组", "visits": 3,
                                "places": None, "reflection": None}
    assert body["more"] is False and isinstance(body["cursor"], int) and body["cursor"] > 0


def test_replayed_request_returns_duplicate_and_creates_nothing(app, phone):
    sec1 = phone("sec1")
    ops = [journal("一"), journal("二")]
    first = sec1.sync(ops).get_json()
    sec1.cursor = None
    again = sec1.sync(ops).get_json()
    assert [r["status"] for r in first["results"]] == ["applied", "applied"]
    assert [(r["status"], r["outcome"], r["version"]) for r in again["results"]] == [("duplicate", "applied", 1)] * 2
    assert count_journals(app) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OpLog)) == 2


def test_bad_op_is_rejected_while_the_others_apply(app, phone):
    sec1 = phone("sec1")
    good, bad, also_good = journal("好"), journal("坏", visits="many"), journal("也好")
    results = sec1.sync([good, bad, also_good]).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "invalid_value" and results[1]["error"]["field"] == "visits"
    assert count_journals(app) == 2


def test_op_for_a_village_outside_scope_is_rejected(app, phone):
    staff1 = phone("staff1")
    sec2 = phone("sec2")
    foreign = journal("别的镇", record_id=None)
    sec2.sync([foreign])
    edit = journal("改别人的", record_id=foreign["id"], base=1)
    cadre_create = journal("写到别村", unit="V21")
    staff_results = staff1.sync([edit]).get_json()["results"]
    sec1_results = phone("sec1").sync([cadre_create]).get_json()["results"]
    assert staff_results[0]["error"]["code"] == "forbidden"
    assert sec1_results[0]["error"]["code"] == "out_of_scope"
    with app.app_context():
        assert db.session.get(Journal, foreign["id"]).text == "别的镇"
    assert count_journals(app) == 1


def test_a_field_user_pulls_only_their_village_and_staff_their_township(phone):
    phone("sec1").sync([journal("一村")])
    phone("sec12").sync([journal("二村")])
    phone("sec2").sync([journal("三村")])
    texts = lambda user: sorted(c["fields"]["text"] for c in phone(user).sync().get_json()["changes"])
    assert texts("cadre1") == ["一村"]
    assert texts("staff1") == ["一村", "二村"]
    assert texts("staff2") == ["三村"]
    assert texts("admin") == ["一村", "三村", "二村"]


def test_malformed_envelope_is_400_and_applies_nothing(app, phone):
    sec1 = phone("sec1")
    response = sec1.sync([journal("会被丢弃"), "not an op"])
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "bad_envelope", "field": "ops",
                                             "message": "ops[1] must be an object with a UUID `op`."}}
    assert count_journals(app) == 0
    not_json = sec1.client.post("/api/sync", data="{", headers={"Authorization": f"Bearer {sec1.token}",
                                                               "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.get_json()["error"]["code"] == "bad_json"


def test_envelope_for_another_device_is_rejected(app, phone):
    response = phone("sec1").sync([journal()], device=str(uuid.uuid4()))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "device_mismatch"
    assert count_journals(app) == 0


def test_no_token_and_bad_token_are_json_401(client, world):
    for headers, code in [({}, "auth_required"), ({"Authorization": "Bearer nonsense"}, "invalid_token"),
                          ({"Authorization": "Basic abc"}, "auth_required")]:
        response = client.post("/api/sync", json={"device": str(uuid.uuid4())}, headers=headers)
        assert response.status_code == 401
        assert response.is_json and response.get_json()["error"]["code"] == code
        assert "Location" not in response.headers


def test_revoked_device_gets_json_401_and_its_ops_are_not_applied(app, phone):
    sec1 = phone("sec1")
    staff1 = phone("staff1")
    revoke = staff1.client.post(f"/api/devices/{sec1.device}/revoke",
                                headers={"Authorization": f"Bearer {staff1.token}"})
    assert revoke.status_code == 200
    response = sec1.sync([journal("撤销后")])
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "device_revoked"
    assert count_journals(app) == 0
    assert phone("sec1").sync([journal("重新登录后")]).status_code == 200


def test_revocation_is_scoped_and_role_checked(app, phone):
    sec2, staff1, cadre1 = phone("sec2"), phone("staff1"), phone("cadre1")
    outside = staff1.client.post(f"/api/devices/{sec2.device}/revoke",
                                 headers={"Authorization": f"Bearer {staff1.token}"})
    assert outside.status_code == 404 and outside.get_json()["error"]["code"] == "not_found"
    not_allowed = cadre1.client.post(f"/api/devices/{sec2.device}/revoke",
                                     headers={"Authorization": f"Bearer {cadre1.token}"})
    assert not_allowed.status_code == 403
    with app.app_context():
        assert db.session.get(Device, sec2.device).revoked_at is None


def test_overlapping_edits_from_two_phones_merge_and_keep_the_loser(app, phone):
    sec1, other_phone = phone("sec1"), phone("sec1")  # a journal is its author's, on any of their phones
    create = journal("初稿")
    sec1.sync([create])
    sec1.sync([journal("书记改", record_id=create["id"], base=1, places="村口")])
    result = other_phone.sync([journal("村委改", record_id=create["id"], base=1)]).get_json()["results"][0]
    assert result["status"] == "merged" and result["version"] == 3
    assert result["conflicts"][0]["lost"] == "书记改"
    with app.app_context():
        row = db.session.get(Journal, create["id"])
        assert (row.text, row.places, row.version) == ("村委改", "村口", 3)


def test_pull_pages_with_more_and_resumes_from_cursor(phone):
    sec1 = phone("sec1")
    sec1.sync([journal(f"第{i}篇") for i in range(7)])
    reader = phone("cadre1")
    pages = []
    while True:
        body = reader.sync(limit=3).get_json()
        pages.append(len(body["changes"]))
        if not body["more"]:
            break
    assert pages == [3, 3, 1]


def test_too_many_ops_is_400(app, phone):
    app.config["SYNC_MAX_OPS"] = 3
    response = phone("sec1").sync([journal() for _ in range(4)])
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "too_many_ops"


def test_sync_records_the_villages_last_sync(app, phone):
    from app.models import Unit
    before = utcnow()
    phone("sec1").sync()
    with app.app_context():
        assert db.session.scalar(select(Unit.last_sync_at).where(Unit.code == "V11")) >= before


def test_openapi_description_is_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/auth/token", "/api/sync", "/api/devices/{device_id}/revoke"} <= set(spec["paths"])
    assert spec["x-record-types"]["journal"]["properties"]["text"]["nullable"] is False


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_the_same_op_twice_in_one_request_applies_once(app, phone):
    op = journal("只一次")
    results = phone("sec1").sync([op, op]).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "duplicate"]
    assert count_journals(app) == 1


def test_an_edit_in_the_same_request_as_its_create_applies_on_top(app, phone):
    create = journal("草稿")
    edit = journal("定稿", record_id=create["id"], base=1)
    results = phone("sec1").sync([create, edit]).get_json()["results"]
    assert [(r["status"], r["version"]) for r in results] == [("applied", 1), ("applied", 2)]
    with app.app_context():
        assert db.session.get(Journal, create["id"]).text == "定稿"


def test_text_that_is_not_valid_unicode_is_a_400(app, phone):
    sec1 = phone("sec1")
    body = '{"ops": [{"op": "%s", "type": "journal", "id": "%s", "set": {"text": "\\udae1"}}]}' % (
        uuid.uuid4(), uuid.uuid4())
    response = sec1.client.post("/api/sync", data=body, headers={"Authorization": f"Bearer {sec1.token}",
                                                                "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_json"
    assert count_journals(app) == 0


def test_nul_characters_are_refused_not_a_server_error(app, phone, client):
    results = phone("sec1").sync([journal("a\x00b"), journal("好的", places="x\x00")]).get_json()["results"]
    assert [r["error"]["code"] for r in results] == ["invalid_value", "invalid_value"]
    token = client.post("/api/auth/token", json={"username": "sec\x001", "password": "x", "device_name": "a\x00b"})
    assert token.status_code == 401
    named = client.post("/api/auth/token", json={"username": "sec1", "password": "correct-horse-1",
                                                 "device_name": "红米\x00手机"})
    assert named.status_code == 201
    assert count_journals(app) == 0


def test_only_its_author_changes_a_journal(app, phone):
    """A journal is its writer's account of the day: another cadre of the village adds their own, never edits it."""
    sec1, cadre1 = phone("sec1"), phone("cadre1")
    mine = journal("上午走访三户")
    assert sec1.sync([mine]).get_json()["results"][0]["status"] == "applied"
    edit = journal("改了书记的日志", record_id=mine["id"], base=1)
    refused = cadre1.sync([edit]).get_json()["results"][0]
    assert refused["status"] == "rejected" and refused["error"]["code"] == "forbidden"
    own = journal("上午走访三户，下午开会", record_id=mine["id"], base=1)
    assert sec1.sync([own]).get_json()["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.get(Journal, mine["id"]).text == "上午走访三户，下午开会"


def test_an_id_of_another_village_answers_as_an_unknown_one(app, phone):
    sec2 = phone("sec2")
    theirs = journal("三村的日志")
    sec2.sync([theirs])
    sec1 = phone("sec1")
    probe = sec1.sync([journal("探", record_id=theirs["id"], base=1)]).get_json()["results"][0]
    unknown = sec1.sync([journal("探", record_id=str(uuid.uuid4()), base=1)]).get_json()["results"][0]
    assert probe["error"] == unknown["error"] and probe["error"]["code"] == "not_found"
    with app.app_context():
        assert db.session.get(Journal, theirs["id"]).text == "三村的日志"


# ---------------------------------------------------------------- the answer to a push

def changed_ids(body) -> set:
    return {c["id"] for c in body["changes"]}


def test_a_push_is_not_sent_back_to_the_phone_that_made_it(phone):
    sec1 = phone("sec1")
    sec1.sync()  # the first pull: from cursor null everything comes, the phone's own records too
    created, edited = journal("上午走访三户", date="2026-11-30"), journal("下午开会", date="2026-11-30")
    sec1.sync([edited])
    body = sec1.sync([created, journal("下午开会，定了修路", record_id=edited["id"], base=1)]).get_json()
    assert [(r["status"], r["version"]) for r in body["results"]] == [("applied", 1), ("applied", 2)]
    assert set(body["results"][0]) == {"op", "status", "version"}
    assert changed_ids(body) == set(), "the phone has both records as the server has them"
    other_phone = phone("cadre1")
    assert {created["id"], edited["id"]} <= changed_ids(other_phone.sync().get_json())


def test_a_first_pull_with_a_push_returns_everything(phone):
    sec1 = phone("sec1")
    op = journal("第一次同步")
    assert changed_ids(sec1.sync([op]).get_json()) == {op["id"]}


def test_what_the_server_changed_comes_back(phone):
    sec1, cadre1 = phone("sec1"), phone("cadre1")
    sec1.sync(), cadre1.sync()
    problem = {"op": str(uuid.uuid4()), "type": "problem", "id": str(uuid.uuid4()), "base": None,
               "set": {"title": "水渠渗漏"}}
    body = sec1.sync([problem]).get_json()
    assert changed_ids(body) == {problem["id"]}, "the server filled in the status the phone did not send"
    cadre1.sync()
    sec1.sync([{**problem, "op": str(uuid.uuid4()), "base": 1, "set": {"detail": "东头三户"}}])
    late = {**problem, "op": str(uuid.uuid4()), "base": 1, "set": {"category": "水利"}}
    merged = cadre1.sync([late]).get_json()
    assert merged["results"][0]["status"] == "merged" and changed_ids(merged) == {problem["id"]}
    fields = [c for c in merged["changes"] if c["id"] == problem["id"]][0]["fields"]
    assert (fields["detail"], fields["category"]) == ("东头三户", "水利")


def test_people_come_inside_the_sync_only_when_they_changed(app, phone):
    sec1 = phone("sec1")
    first = sec1.sync(people=None).get_json()
    assert [p["username"] for p in first["people"]["list"] if p["village"]] == ["cadre1", "sec1"]
    version = first["people"]["version"]
    assert "people" not in sec1.sync(people=version).get_json()
    assert "people" not in sec1.sync().get_json(), "API clients that do not ask get the plain answer"
    with app.app_context():
        from tests.conftest import add_user
        add_user("cadre2", "cadre", "V11", "pw-long-enough")
        db.session.commit()
    again = sec1.sync(people=version).get_json()
    assert [p["username"] for p in again["people"]["list"] if p["village"]] == ["cadre1", "cadre2", "sec1"]
    assert again["people"]["version"] != version
