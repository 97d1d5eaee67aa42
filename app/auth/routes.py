from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_login.utils import login_url

from .. import credentials
from ..extensions import db, login_manager
from ..api.routes import user_json
from ..models import User
from ..security import safe_next, wants_json
from . import bp
from .forms import LoginForm, LogoutForm

login_manager.login_view = "auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(session_id: str):
    """The user of a page session or remember cookie, while the device it hangs on is live."""
    device, state = credentials.device_of_session(session_id)
    if device is None or state != "live":
        g.session_ended = state if device is not None else None
        return None
    credentials.touch(device)
    user = device.user
    user.session_id, user.device = session_id, device
    return user


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/") or wants_json():
        return jsonify({"error": {"code": "auth_required", "message": "Log in first."}}), 401
    ended = g.get("session_ended")
    if ended == "revoked":
        flash(_("This device was signed out by the township. Log in again; entries on the phone are kept."), "error")
    elif ended == "expired":
        flash(_("You were logged out after a long time without use. Log in again."), "error")
    if ended:
        return redirect(url_for("auth.login"))
    return redirect(login_url("auth.login", request.url))


@bp.before_app_request
def load_user_first():
    """Load the session's user before the view writes anything: renewing the device's idle clock is its own
    short transaction, which must not wait behind the request's own write (SQLite has one writer)."""
    if not request.path.startswith(("/static/", "/js/")):
        current_user._get_current_object()


def home_for(user: User) -> str:
    return url_for("field.home") if user.is_field else url_for("township.journals")


@bp.app_context_processor
def logout_form():
    return {"logout_form": LogoutForm(formdata=None)}  # never reads the request: error pages render it too


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        if request.method == "POST" and wants_json():
            return jsonify({"error": {"code": "bad_request", "message": _("Fill in the username and password.")}}), 400
        return render_template("auth/login.html", form=form)
    user = credentials.user_for_password(form.username.data, form.password.data)
    if user is None:
        message = _("Wrong username or password.")
        if wants_json():
            return jsonify({"error": {"code": "bad_credentials", "message": message}}), 401
        flash(message, "error")
        return render_template("auth/login.html", form=form), 401
    device, token = session_device(user, form)
    user.session_id, user.device = credentials.open_session(device), device
    db.session.commit()
    login_user(user, remember=bool(form.remember.data))
    target = safe_next(request.args.get("next"), home_for(user))
    if not wants_json():
        return redirect(target)
    answer = {"next": target, "user": user_json(user), "device": device.id}
    if token:
        answer["token"] = token
    return jsonify(answer)


def session_device(user: User, form: LoginForm):
    """The live device the form names (a phone logging in again), else a new one. A phone's login page asks in
    JSON and gets a bearer token for sync; township web logins never get one."""
    named = credentials.live_device_of(user, form.device.data)
    if named is not None:
        return named, None
    name = form.device_name.data or request.user_agent.string or "browser"
    return credentials.new_device(user, name, with_token=user.is_field and wants_json())


@bp.post("/logout")
def logout():
    if LogoutForm().validate_on_submit() and current_user.is_authenticated:
        credentials.end(current_user.device, by=current_user)
        logout_user()
    return redirect(url_for("auth.login"))
