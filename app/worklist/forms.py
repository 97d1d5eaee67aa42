"""The admin's import forms: the upload (a file, CSRF) and the confirmation of a previewed plan."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField

EXTENSIONS = ["csv", "xlsx"]


class ImportForm(FlaskForm):
    file = FileField(_l("The county's work-item list (CSV or XLSX)"), validators=[
        FileRequired(_l("Choose the file of the list.")),
        FileAllowed(EXTENSIONS, _l("The list must be a .csv or .xlsx file."))])


class ConfirmForm(FlaskForm):
    """Which stored upload, and the digest of the plan the admin was shown (imports.plan_digest)."""
    upload = HiddenField()
    digest = HiddenField()
