"""Cross-cutting web concerns: the session user loader, error pages, headers and template helpers."""

import hashlib
from urllib.parse import urlsplit

import flask
from flask import Flask, current_app, flash, g, make_response, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_url
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from training.audit.services import DeniedAccess, record_denied_access
from training.auth.sessions import user_for_session
from training.client import client_ip
from training.clock import day_text, local_time, machine_time
from training.compliance import rules as compliance_rules
from training.content import catalog
from training.courses.rules import STATUS_LABELS
from training.error_pages import TOO_LARGE_MESSAGE, error_response
from training.errors import DomainError, HiddenRecord
from training.extensions import db, login_manager, talisman
from training.form_errors import ErrorItem, error_items
from training.form_widgets import label_html
from training.logs import current_request_id
from training.markdown import render_markdown
from training.navigation import site_navigation
from training.security_log import security_event, signed_in_person, tampering
from training.sso.buttons import sso_sign_in_buttons

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Request(flask.Request):
    """Closes the temporary files of an upload whose body is refused part-way through parsing.

    Werkzeug spools a file part over 500 KB to a temporary file. When a later part breaks a limit
    (MAX_FORM_MEMORY_SIZE, MAX_FORM_PARTS) the request gets a 413, but werkzeug 3.1 leaves the files
    it had opened to the garbage collector.
    """

    def _get_file_stream(self, *args, **kwargs):
        stream = super()._get_file_stream(*args, **kwargs)
        self.__dict__.setdefault("_upload_streams", []).append(stream)
        return stream

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except BaseException:
            for stream in self.__dict__.pop("_upload_streams", []):
                stream.close()
            raise


def init_app(app: Flask) -> None:
    app.request_class = Request
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_user_of_session)
    login_manager.unauthorized_handler(_sign_in_first)
    app.session_interface = ServerBoundSessionCookie()
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.before_request(_load_signed_in_user)
    app.after_request(_cookie_follows_server_session)

    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_busy)
    app.register_error_handler(InterfaceError, _database_busy)
    app.register_error_handler(InternalServerError, _server_error)
    app.before_request(_refuse_nul_characters)
    _init_talisman(app)
    app.after_request(_no_store_for_signed_in_pages)
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["day"] = day_text
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.globals["status_labels"] = STATUS_LABELS
    app.jinja_env.globals["compliance_labels"] = compliance_rules.LABELS
    app.jinja_env.globals["compliance_badge"] = compliance_badge
    app.jinja_env.globals["people_rows"] = people_rows
    app.jinja_env.globals["form_field_html"] = form_field_html
    app.jinja_env.globals["field_input_html"] = field_input_html
    app.jinja_env.globals["field_errors_html"] = field_errors_html
    app.jinja_env.globals["request_id"] = current_request_id
    app.jinja_env.globals["organisation_name"] = lambda: app.config["ORGANISATION_NAME"]
    app.jinja_env.globals["error_items"] = error_items
    app.jinja_env.globals["error_item"] = ErrorItem
    app.jinja_env.globals["sso_sign_in_buttons"] = sso_sign_in_buttons
    app.jinja_env.globals["site_navigation"] = site_navigation


_CONTENT_TOKEN = catalog.content_token_column()
# Files that are the same for everyone: no session is read for them and they may be cached.
_SAME_FOR_EVERYONE = frozenset({"static", "favicon"})
FAVICON_MAX_AGE = 7 * 24 * 3600


def _favicon():
    """The icon browsers ask for at /favicon.ico whatever the page links: public, cacheable for a week."""
    return flask.send_from_directory(
        current_app.static_folder, "favicon.ico", max_age=FAVICON_MAX_AGE, mimetype="image/vnd.microsoft.icon"
    )


def _user_of_session(token: str):
    """The signed-in user, and in the same statement the content version the catalog cache checks.

    The loader's statement is the request's first: if it finds the connection dropped (the database
    restarted; connections are not tested before use, config.engine_options), SQLAlchemy has discarded the
    pool's connections and the loader runs once more on a new one, so the person sees no error.
    """
    try:
        return user_for_session(token, also=_CONTENT_TOKEN, receive=catalog.remember_token)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        db.session.rollback()
        return user_for_session(token, also=_CONTENT_TOKEN, receive=catalog.remember_token)


def _load_signed_in_user() -> None:
    """Load the user first thing, before any view writes: the loader may end a lapsed session or
    refresh its `last_seen_at`, and commits. A session that just lapsed is dropped from the cookie
    and the person is told why (idle or time limit)."""
    if request.endpoint in _SAME_FOR_EVERYONE or current_user.is_authenticated:
        return
    message = g.pop("session_end_message", None)
    if message:
        session.clear()
        flash(message, "info")
        g.session_end_flashed = True


def _sign_in_first():
    """Flask-Login's redirect to sign in, without its generic message when a more precise one was given."""
    if not g.get("session_end_flashed"):
        flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def _cookie_follows_server_session(response):
    """Without "remember me" the cookie lasts until the browser closes; with it, the cookie expires
    when its server-side session does (UserSession.expires_at), set again on every response."""
    if request.endpoint in _SAME_FOR_EVERYONE:
        return response
    record = current_user.current_session if current_user.is_authenticated else None
    if record is not None:
        if session.permanent != record.remember:
            session.permanent = record.remember
        g.session_cookie_expires = record.expires_at if record.remember else None
    return response


class ServerBoundSessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, whose expiry (when permanent) is this request's server-side session end
    rather than one app-wide PERMANENT_SESSION_LIFETIME, which is shared by every request.

    Signed with HMAC-SHA-256 instead of Flask's default SHA-1 (ASVS 11.4.1).
    """

    digest_method = staticmethod(hashlib.sha256)

    def get_expiration_time(self, app, session):
        expires = g.get("session_cookie_expires")
        if session.permanent and expires is not None:
            return expires
        return super().get_expiration_time(app, session)


def _domain_error(exc: DomainError):
    if exc.tampered:
        tampering(exc.tampered)
    if isinstance(exc, HiddenRecord):
        _record_denied("not_owner", exc.message, exc.subject_type, exc.subject_id)
    elif exc.status == 403:
        _record_denied("forbidden", exc.message)
    return error_response(exc.status, exc.code, exc.message)


def _record_denied(reason: str, message: str, subject_type: str = "", subject_id: str = "") -> None:
    """Every refusal of a signed-in person goes into the audit record (ASVS 16.3.2)."""
    record_denied_access(
        DeniedAccess(
            actor_id=_actor_id(),
            reason=reason,
            path=request.path,
            method=request.method,
            endpoint=request.endpoint or "",
            message=message,
            ip_address=client_ip(),
            subject_type=subject_type,
            subject_id=subject_id,
        )
    )


def _actor_id() -> int | None:
    """The signed-in user's id, read from the identity map: no query, even if the request's
    transaction has expired the object."""
    if not current_user.is_authenticated:
        return None
    identity = inspect(current_user._get_current_object()).identity
    return identity[0] if identity else None


def refuse_malformed_referrer() -> None:
    """A Referer that cannot be parsed as a URL, on a request Flask-WTF will check for its origin
    (an unsafe method over HTTPS), is refused as a failed CSRF check: Flask-WTF's own same-origin
    check would raise ValueError on it ("Invalid IPv6 URL", a port out of range) and answer 500."""
    if not request.is_secure or request.method not in current_app.config.get("WTF_CSRF_METHODS", UNSAFE_METHODS):
        return
    try:
        urlsplit(request.referrer or "").port  # noqa: B018 - parsing the port is what raises
    except ValueError as exc:
        raise CSRFError("The referrer header is malformed.") from exc


def _csrf_error(exc: CSRFError):
    security_event("csrf_refused", reason=exc.description, person=signed_in_person())
    message = "This form has expired or was not sent by this site. Go back, reload the page and try again."
    return error_response(400, "csrf_failed", message, "The form could not be accepted")


# Waits for a lock that ran out: SQLite's busy timeout, and PostgreSQL's serialization failure,
# deadlock and lock timeout. Nothing was written (the transaction is rolled back); trying again works.
_BUSY_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED")
_BUSY_SQLSTATES = ("40001", "40P01", "55P03")
RETRY_AFTER_SECONDS = 5


CONNECTION_LOST_MESSAGE = "The connection to the database was lost and nothing was saved. Please try again."


def _database_busy(exc: OperationalError | InterfaceError):
    """A request that could not get a database lock in time is a 503 to retry, not a 500 (ASVS 2.3.4);
    so is one whose connection the database dropped (a restart): the next request gets a new connection."""
    if exc.connection_invalidated:
        db.session.rollback()
        response = make_response(error_response(503, "connection_lost", CONNECTION_LOST_MESSAGE))
        response.headers["Retry-After"] = "1"
        return response
    original = exc.orig
    busy = getattr(original, "sqlite_errorname", None) in _BUSY_SQLITE or (
        getattr(original, "sqlstate", None) in _BUSY_SQLSTATES
    )
    if not busy:
        raise exc
    db.session.rollback()
    message = "The system is busy and nothing was saved. Please try again in a few seconds."
    response = make_response(error_response(503, "busy", message))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


SERVER_ERROR_MESSAGE = (
    "Something went wrong on our side. Try again in a moment; if it keeps happening, tell your administrator."
)


def _server_error(exc: InternalServerError):
    """An unhandled exception (Flask has logged it): our own page, or JSON for the API, and never the
    exception's text. If even the page cannot be drawn (the database is down), plain text."""
    try:
        db.session.rollback()
        return error_response(500, "internal_error", SERVER_ERROR_MESSAGE, "Something went wrong")
    except Exception:
        return SERVER_ERROR_MESSAGE, 500, {"Content-Type": "text/plain; charset=utf-8"}


def _http_error(exc: HTTPException):
    if exc.code and exc.code >= 500:
        return exc
    if exc.code == 403:
        _record_denied("forbidden", exc.description or "")
    if exc.response is not None:
        return exc.response  # a page made for this refusal (a rate limit's on_breach, say)
    messages = {
        404: "We could not find that page. Check the address, or go back to My training.",
        405: "This page does not accept that kind of request.",
        413: TOO_LARGE_MESSAGE,
    }
    if request.path.startswith("/api/"):
        messages = {404: "There is no such API endpoint; see /api/v1/openapi.json.", 405: "Only GET is allowed here."}
    message = messages.get(exc.code, exc.description)
    response = make_response(error_response(exc.code, (exc.name or "error").lower().replace(" ", "_"), message))
    if getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


NUL_MESSAGE = (
    "The request contained a NUL character (\\0), which no page or form of this site accepts. Remove it and try again."
)


def _refuse_nul_characters():
    """Refuse a NUL anywhere in the address or the form, before any code reads it.

    No field of this app means one, and PostgreSQL cannot store one in text: without this a NUL
    in a search box or a name reached the database as a 500. The API checks its own parameters
    (a 422 naming the parameter), so its requests are left to it.
    """
    if request.blueprint == "api":
        return None
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs += request.form.items(multi=True)
        pairs += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    # A multipart part whose name werkzeug cannot read (name="\\") arrives with the name None.
    if "\x00" in request.path or any("\x00" in (name or "") or "\x00" in value for name, value in pairs):
        return error_response(400, "nul_character", NUL_MESSAGE)
    return None


# Scripts and styles come only from our own files: no inline script or style, nothing from a CDN.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def _init_talisman(app: Flask) -> None:
    """Security headers from Flask-Talisman (ASVS 3.4): CSP, HSTS, nosniff, Referrer-Policy, framing.

    HTTPS redirects and HSTS only in production (config.TRAINING_ENV); the cookie flags come from
    the config, which Talisman would otherwise overwrite. HSTS covers subdomains (ASVS 3.4.1 at
    level 2): the app is meant to have a host name of its own, such as training.hospital.example.
    """
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=bool(app.config["HSTS_SECONDS"]),
        strict_transport_security_max_age=app.config["HSTS_SECONDS"],
        strict_transport_security_include_subdomains=True,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
    )


def _no_store_for_signed_in_pages(response):
    """Pages with personal records are never kept by a browser or proxy cache (ASVS 14.3.2)."""
    if request.endpoint not in _SAME_FOR_EVERYONE and current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


_BADGES = {
    status: Markup('<span class="badge badge-c-{}">{}</span>').format(status, label)
    for status, label in compliance_rules.LABELS.items()
}


def compliance_badge(status: str, detail: str = "") -> Markup:
    """A compliance status as HTML: the coloured label, then its date. A function with the badges
    made once, not a Jinja macro, because the people list draws hundreds of them per page."""
    if not detail:
        return _BADGES[status]
    detail_html = f'<span class="status-detail">{escape(detail)}</span>'
    return Markup(f"{_BADGES[status]} {detail_html}")  # noqa: S704 - the badge is Markup and the detail escaped


def form_field_html(field) -> Markup:
    """A form field with its label, its hint and its errors, tied together for screen readers: the input is
    described by the hint and, when the field has errors, by the error message, and marked invalid.

    The `form_field` and `filter_form` macros (templates/_macros.html) call it: written in Python, not as
    nested Jinja macros, because the macros' calls were a fifth of the people list's time.
    """
    attributes, hint = {}, Markup("")
    if field.description:
        attributes["aria-describedby"] = f"{field.id}-hint"
        hint = Markup('\n  <p class="hint" id="{}-hint">{}</p>').format(field.id, field.description)
    errors = field_errors_html(field)
    css = "field has-error" if field.errors else "field"
    html = Markup('<div class="{}">\n  {}\n  {}{}{}\n</div>')
    return html.format(css, label_html(field), field_input_html(field, **attributes), hint, errors and "\n  " + errors)


def field_input_html(field, **attributes) -> Markup:
    """A field's input with `attributes`; when it has errors it is marked invalid and described by its error
    message too (the `input` macro)."""
    if field.errors:
        described = f"{attributes.get('aria-describedby') or ''} {field.id}-error".strip()
        attributes |= {"aria-describedby": described, "aria-invalid": "true"}
    return field(**attributes)


def field_errors_html(field) -> Markup:
    """A field's error messages, for its input's aria-describedby to name (the `field_errors` macro)."""
    if not field.errors:
        return Markup("")
    return Markup('<p class="field-error" id="{}-error">{}</p>').format(field.id, " ".join(field.errors))


_NOTHING_REQUIRED = Markup('<span class="muted">Nothing required</span>')
_NOT_REQUIRED = Markup('<span class="muted">Not required</span>')


def people_rows(rows, items, people_url: str) -> Markup:
    """The people list's table rows: each person (a link to their record, then their details) and their cells.

    `rows` are PersonRow values, `items` the columns, `people_url` the people list's URL, which each
    person's record is under. Made in one call, not a template loop: Jinja's cost per row and per cell
    was most of the page's.
    """
    return Markup("".join(_person_row(row, items, people_url) for row in rows))  # noqa: S704 - made escaped


def _person_row(row, items, people_url: str) -> str:
    details = [row.employee_id] if row.employee_id else []
    details += [row.department or "No department"] + ([row.job_title] if row.job_title else [])
    person = (
        f'<th scope="row" data-label="Person"><a href="{escape(people_url)}/{row.id}">{escape(row.name)}</a>'
        f' <span class="person-meta">{escape(" · ".join(details))}</span></th>'
    )
    return f"<tr>{person}{_matrix_cells(row.overall, row.cells, items)}</tr>\n"


def _matrix_cells(overall: str | None, cells, items) -> str:
    """The overall status, then one cell per column (`items`, with `cells` in their order)."""
    parts = [_matrix_cell("Overall", compliance_badge(overall) if overall else _NOTHING_REQUIRED)]
    for item, cell in zip(items, cells, strict=True):
        parts.append(_matrix_cell(item.title, compliance_badge(cell.status, cell.detail) if cell else _NOT_REQUIRED))
    return "".join(parts)


def _matrix_cell(label: str, content: Markup) -> str:
    """One cell's HTML, the label escaped: an f-string, several times faster than Markup.format."""
    return f'<td data-label="{escape(label)}">{content}</td>'
