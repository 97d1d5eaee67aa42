"""The administration commands, in exactly the documented forms."""
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Journal, Unit, User


def invoke(runner, *args):
    return runner.invoke(args=list(args))


def test_create_units_and_a_user(app, runner):
    assert invoke(runner, "create-unit", "C1", "示范县", "--level", "county").exit_code == 0
    assert invoke(runner, "create-unit", "T1", "青山镇", "--level", "township", "--parent", "C1").exit_code == 0
    result = invoke(runner, "create-unit", "V1", "东坡村", "--level", "village", "--parent", "T1")
    assert result.exit_code == 0 and "V1" in result.output
    result = invoke(runner, "create-user", "shuji", "--role", "secretary", "--unit", "V1", "--password", "s3cret-pass")
    assert result.exit_code == 0, result.output
    with app.app_context():
        village = db.session.scalar(select(Unit).where(Unit.code == "V1"))
        county = db.session.scalar(select(Unit).where(Unit.code == "C1"))
        assert village.path.startswith(county.path) and village.parent.code == "T1"
        user = db.session.scalar(select(User).where(User.username == "shuji"))
        assert user.password_hash != "s3cret-pass" and user.check_password("s3cret-pass")


def test_bad_input_gets_a_clear_error_and_changes_nothing(app, runner):
    invoke(runner, "create-unit", "C1", "县", "--level", "county")
    cases = [
        (("create-unit", "V1", "村", "--level", "village", "--parent", "C1"), "must be a township"),
        (("create-unit", "T1", "镇", "--level", "township"), "needs --parent"),
        (("create-unit", "C1", "又一个县", "--level", "county"), "already exists"),
        (("create-unit", "T9", "镇", "--level", "township", "--parent", "NOPE"), "No unit has the code NOPE"),
        (("create-user", "u", "--role", "secretary", "--unit", "C1", "--password", "long-enough"), "belongs to a village"),
        (("create-user", "u", "--role", "admin", "--unit", "C1", "--password", "short"), "at least 8"),
    ]
    for args, message in cases:
        result = invoke(runner, *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 1
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_prints_logins_and_running_it_twice_changes_nothing(app, runner):
    first = invoke(runner, "seed-demo")
    assert first.exit_code == 0 and "shuji" in first.output and "zhucun-demo" in first.output

    def snapshot():
        with app.app_context():
            return (db.session.scalar(select(func.count()).select_from(Unit)),
                    db.session.scalar(select(func.count()).select_from(User)),
                    sorted(db.session.execute(select(Journal.id, Journal.version)).all()),
                    sorted(db.session.execute(select(Attachment.id, Attachment.version, Attachment.completed_at)).all()))

    before = snapshot()
    second = invoke(runner, "seed-demo")
    assert second.exit_code == 0 and "nothing changed" in second.output
    assert snapshot() == before
    units, users, journals, photos = before
    assert units == 9 and users >= 5 and journals
    assert photos and all(completed for _id, _version, completed in photos), "the demo's photos are uploaded"
    with app.app_context():
        levels = dict(db.session.execute(select(Unit.level, func.count()).group_by(Unit.level)).all())
        roles = set(db.session.scalars(select(User.role)))
    assert levels == {"county": 1, "township": 2, "village": 6}
    assert roles == {"secretary", "cadre", "township_staff", "township_approver", "admin"}
