"""The weekly report in words: a few sentences generated from the records, in the reader's language.

What was done, the urgent problems still open (oldest first), the requests waiting for an answer, and what
the township asked for (需跟进 comments) and whether the village answered. Sentences come from gettext
templates, so the Chinese is the catalog's; no village or person is ranked. Open and waiting are counted as
they stood at the end of the week (or now, if sooner), like the figures.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from sqlalchemy import and_, func, or_, select

from ..extensions import db
from ..models import FIELD_ROLES, Journal, Problem, Request, Review, Unit, User, utcnow
from ..township.queries import to_local
from .figures import Week, village_figures

MOST_NAMED = 5   # urgent problems named before "等 N 个"
MOST_QUOTED = 3  # follow-up comments quoted
QUOTE_LENGTH = 30


def _names(items: list[str]) -> str:
    return pgettext("between names in a sentence", ", ").join(items)


def _clauses(items: list[str]) -> str:
    return pgettext("between clauses of a sentence", ", ").join(items)


def _quote(text: str) -> str:
    """A comment's first line, shortened, in quotation marks."""
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return f"“{line[:QUOTE_LENGTH]}…”" if len(line) > QUOTE_LENGTH else f"“{line}”"


def _local_day(value: dt.datetime) -> dt.date:
    return to_local(value).date()


def _duration(days: int) -> str:
    return ngettext("%(num)d day", "%(num)d days", days) if days else _("less than a day")


def _age(days: int) -> str:
    return ngettext("open %(num)d day", "open %(num)d days", days) if days else _("just raised")


def _live(model, village_ids):
    return and_(model.unit_id.in_(village_ids), model.deleted.is_(False))


def _done(villages: list[Unit], week: Week) -> str | None:
    """What the villages did this week, in one sentence; None when they recorded nothing."""
    ids = [v.id for v in villages]
    start, end = week.utc_bounds()
    per_village = village_figures(ids, week).values()
    total = {metric: sum(f[metric] for f in per_village) for metric in
             ("journals", "problems_opened", "problems_resolved", "requests_answered", "tasks_done")}
    visits = db.session.scalar(select(func.coalesce(func.sum(Journal.visits), 0)).where(
        _live(Journal, ids), Journal.date.between(week.monday, week.sunday)))
    recorded = db.session.scalar(select(func.count()).where(
        _live(Request, ids), Request.created_at >= start, Request.created_at < end))
    parts = [
        (total["journals"], lambda n: ngettext("wrote %(num)d journal", "wrote %(num)d journals", n)),
        (visits, lambda n: ngettext("visited %(num)d household", "visited %(num)d households", n)),
        (total["problems_opened"], lambda n: ngettext("recorded %(num)d new problem",
                                                      "recorded %(num)d new problems", n)),
        (total["problems_resolved"], lambda n: ngettext("resolved %(num)d problem", "resolved %(num)d problems", n)),
        (recorded, lambda n: ngettext("took down %(num)d resident's request", "took down %(num)d residents' requests",
                                      n)),
        (total["requests_answered"], lambda n: ngettext("answered %(num)d request", "answered %(num)d requests", n)),
        (total["tasks_done"], lambda n: ngettext("finished %(num)d task", "finished %(num)d tasks", n)),
    ]
    done = _clauses([words(number) for number, words in parts if number])
    if not done:
        return None
    if len(villages) == 1:
        return _("This week %(village)s %(done)s.", village=villages[0].name, done=done)
    return ngettext("This week the %(num)d village together %(done)s.",
                    "This week the %(num)d villages together %(done)s.", len(villages), done=done)


def _urgent_open(villages: list[Unit], cutoff: dt.datetime) -> list[str]:
    ids = [v.id for v in villages]
    rows = db.session.execute(
        select(Problem.title, Problem.created_at, Unit.name).join(Unit, Unit.id == Problem.unit_id)
        .where(_live(Problem, ids), Problem.urgent.is_(True), Problem.created_at < cutoff,
               or_(Problem.resolved_at.is_(None), Problem.resolved_at >= cutoff))
        .order_by(Problem.created_at, Problem.seq)).all()
    if not rows:
        return []
    cutoff_day = _local_day(cutoff)
    named = []
    for title, created_at, village in rows[:MOST_NAMED]:
        age = _age((cutoff_day - _local_day(created_at)).days)
        named.append(_("“%(title)s” (%(age)s)", title=title, age=age) if len(villages) == 1
                     else _("“%(title)s” (%(village)s, %(age)s)", title=title, village=village, age=age))
    if len(rows) > MOST_NAMED:
        return [ngettext("%(num)d urgent problem is still open, the oldest: %(problems)s.",
                         "%(num)d urgent problems are still open, the oldest: %(problems)s.",
                         len(rows), problems=_names(named))]
    return [ngettext("%(num)d urgent problem is still open: %(problems)s.",
                     "%(num)d urgent problems are still open: %(problems)s.", len(rows), problems=_names(named))]


def _waiting_requests(village_ids, cutoff: dt.datetime) -> list[str]:
    count, oldest = db.session.execute(
        select(func.count(), func.min(Request.created_at))
        .where(_live(Request, village_ids), Request.created_at < cutoff,
               or_(Request.answered_at.is_(None), Request.answered_at >= cutoff))).one()
    if not count:
        return []
    waited = _duration((_local_day(cutoff) - _local_day(oldest)).days)
    if count == 1:
        return [_("A resident's request is waiting for an answer, for %(days)s now.", days=waited)]
    return [ngettext("%(num)d resident's request is waiting for an answer; the oldest has waited %(days)s.",
                     "%(num)d residents' requests are waiting for an answer; the oldest has waited %(days)s.",
                     count, days=waited)]


def _follow_ups(village_ids, week: Week) -> list[str]:
    """The township's 需跟进 comments of the week, and whether the village replied (at any time since)."""
    start, end = week.utc_bounds()
    asked = db.session.execute(
        select(Review.id, Review.comment).where(_live(Review, village_ids), Review.decision == "follow_up",
                                                Review.created_at >= start, Review.created_at < end)
        .order_by(Review.created_at, Review.seq)).all()
    if not asked:
        return []
    answered = set(db.session.scalars(
        select(Review.reply_to).join(User, User.id == Review.created_by)
        .where(Review.reply_to.in_([i for i, _comment in asked]), Review.deleted.is_(False),
               User.role.in_(FIELD_ROLES))))
    quoted = _names([_quote(comment) for _i, comment in asked[:MOST_QUOTED]])
    if len(asked) > MOST_QUOTED:
        quoted = _("%(items)s and more", items=quoted)
    out = [ngettext("The township asked for follow-up %(num)d time: %(comments)s.",
                    "The township asked for follow-up %(num)d times: %(comments)s.", len(asked), comments=quoted)]
    if len(answered) == len(asked):
        out.append(ngettext("The village has answered.", "The villages have answered every one.", len(asked)))
    elif not answered:
        out.append(ngettext("The village has not answered yet.", "None has been answered yet.", len(asked)))
    else:
        out.append(_("Answered: %(answered)d; not yet: %(waiting)d.", answered=len(answered),
                     waiting=len(asked) - len(answered)))
    return out


def weekly_summary(villages: list[Unit], week: Week, now: dt.datetime | None = None) -> list[str]:
    """The report's opening paragraph, as sentences."""
    if not villages:
        return [_("No records this week.")]
    ids = [v.id for v in villages]
    cutoff = min(week.utc_bounds()[1], now or utcnow())
    return ([_done(villages, week) or _("No records this week.")] + _urgent_open(villages, cutoff)
            + _waiting_requests(ids, cutoff) + _follow_ups(ids, week))
