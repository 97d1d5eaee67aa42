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
