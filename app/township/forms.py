from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


class RevokeForm(FlaskForm):
    """Only a CSRF token and a button: the device id is in the URL."""
    submit = SubmitField(_l("Revoke"))
