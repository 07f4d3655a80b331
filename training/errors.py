"""Domain errors that services raise and the app turns into a helpful 4xx page (or a one-line CLI error)."""

from contextlib import contextmanager

import click


class DomainError(Exception):
    """A request that cannot be carried out, with a status, a stable code and a message for people.

    `tampered` names what was refused when only a crafted request can cause the refusal (an option
    that is not in the attempt, another person's staged-import token): the error handler then also
    writes a `tampering` line to the security log (ASVS 16.3.3). Honest mistakes leave it empty.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None, tampered: str = ""):
        super().__init__(message)
        self.message = message
        self.tampered = tampered
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class FieldRefused(DomainError):
    """A value a form must show a message beside: a wrong password or code, a password against the rules."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field

    def attach_to(self, form) -> None:
        """Put the message beside the named field of `form` (a WTForms form)."""
        form[self.field].errors.append(self.message)


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class HiddenRecord(NotFound):
    """A record that exists but is not the viewer's to see.

    The answer is the same 404 as for a record that does not exist, so its existence is not
    revealed; the error handler also writes the refusal to the audit record (`access.denied`).
    """

    def __init__(self, message: str, *, subject_type: str, subject_id: object, tampered: str = ""):
        super().__init__(message, tampered=tampered)
        self.subject_type = subject_type
        self.subject_id = str(subject_id)


@contextmanager
def domain_errors_as_click():
    """Show a DomainError as a one-line CLI error (exit status 1) instead of a traceback."""
    try:
        yield
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
