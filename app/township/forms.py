from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField


class RevokeForm(FlaskForm):
    """Only a CSRF token and a button: the device id is in the URL."""
    submit = SubmitField(_l("Revoke"))


class RecordActionForm(FlaskForm):
    """Acknowledge / verify: the version the person saw, so a change made meanwhile is not acted on blind."""
    version = HiddenField()


class ReopenForm(RecordActionForm):
    reason = TextAreaField(_l("Reason for reopening"))


class TaskFields(FlaskForm):
    """What a township task says. Values are checked by the sync engine and its gate (the one set of
    rules), not here: the form only carries them."""
    mode = HiddenField()            # "list" (an item of the county's list) or "offlist"
    item_code = StringField(_l("Screening code"))
    item_q = StringField(_l("Search the list"))
    offlist_reason = TextAreaField(_l("Reason for going off the list"))
    support_department = StringField(_l("Supporting department or station"))
    title = StringField(_l("Title"))
    detail = TextAreaField(_l("Detail"))
    due = StringField(_l("Due"))
    week = StringField(_l("Week"))
    assignee = StringField(_l("Assignee"))

    @property
    def offlist(self) -> bool:
        return (self.mode.data or "") == "offlist"


class DispatchForm(TaskFields):
    """One dispatch (派单) to one or several villages: `villages` are checkboxes (request.form.getlist),
    `dispatch_id` groups the tasks and survives a re-post of the villages that were not reached."""
    dispatch_id = HiddenField()


class ReviseForm(TaskFields):
    """The author's revision of a returned task (and of the dispatch's other returned tasks, `also`)."""
    version = HiddenField()


class DecisionForm(FlaskForm):
    """An approver's decision on tasks: each `task` value is "id:version" (the version shown), each
    `dispatch` value a comma-separated list of those (the bulk selection)."""
    action = HiddenField()
    reason = TextAreaField(_l("Reason"))
    next = HiddenField()


class WithdrawForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField(_l("Reason"))
    next = HiddenField()


class ReviewForm(FlaskForm):
    """A comment (批注) on a record, or a reply in its thread. Checked by the sync engine, not here.

    `version` is the version of the record the reviewer was looking at: commenting marks that one reviewed.
    """
    target_type = HiddenField()
    target_id = HiddenField()
    version = HiddenField()
    reply_to = HiddenField()
    next = HiddenField()
    comment = TextAreaField(_l("Comment"))
    decision = StringField(_l("Decision"))


class MarkForm(FlaskForm):
    """Mark records reviewed: one or more `item` values "type:id:version" (the version shown), and where to go back."""
    next = HiddenField()
