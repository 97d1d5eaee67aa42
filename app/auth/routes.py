from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..extensions import db, login_manager
from ..security import safe_next
from ..models import Device, User
from . import bp
from .forms import LoginForm, LogoutForm

login_manager.login_view = "auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(user_id: str):
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def home_for(user: User) -> str:
    return url_for("field.home") if user.is_field else url_for("township.journals")


@bp.app_context_processor
def logout_form():
    return {"logout_form": LogoutForm()}


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        name = form.username.data
        user = None if "\x00" in name else db.session.scalar(select(User).where(User.username == name))
        if user is None or not user.active or not user.check_password(form.password.data):
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user, remember=True)
        device = db.session.get(Device, form.device.data) if form.device.data else None
        if device is not None and device.user_id == user.id and device.revoked_at is None:
            session["device"] = device.id
        return redirect(safe_next(request.args.get("next"), home_for(user)))
    return render_template("auth/login.html", form=form)


@bp.before_app_request
def end_sessions_of_revoked_devices():
    """A page session opened together with a device token ends when the township revokes that device."""
    device_id = session.get("device")
    if device_id and current_user.is_authenticated:
        device = db.session.get(Device, device_id)
        if device is None or device.revoked_at is not None:
            logout_user()
            session.pop("device", None)
            if not request.path.startswith(("/api/", "/static/", "/js/", "/sw.js")):
                flash(_("This device was signed out by the township. Log in again; entries on the phone are kept."),
                      "error")
                return redirect(url_for("auth.login"))
    return None


@bp.post("/logout")
def logout():
    if LogoutForm().validate_on_submit():
        logout_user()
    return redirect(url_for("auth.login"))
