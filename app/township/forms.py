from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField


class RevokeForm(FlaskForm):
    """Only a CSRF token and a button: the device id is in the URL."""
    submit = SubmitField(_l("Revoke"))


class RecordActionForm(FlaskForm):
    """Acknowledge / verify: the version the person saw, so a change made meanwhile is not acted on blind."""
    version = HiddenField()


class ReopenForm(RecordActionForm):
    reason = TextAreaField(_l("Reason for reopening"))


class TaskForm(FlaskForm):
    """A task for one village. Values are checked by the sync engine (the one set of rules), not here."""
    village = SelectField(_l("Village"), choices=[], validate_choice=False)
    title = StringField(_l("Title"))
    detail = TextAreaField(_l("Detail"))
    due = StringField(_l("Due"))
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)
    week = StringField(_l("Week"))
    item_code = StringField(_l("Screening code"))


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
