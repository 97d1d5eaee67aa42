"""Errors with stable codes: clients branch on `code`, people read `message`."""


MAX_MESSAGE = 300  # a message may quote client input; it must not become a copy of it
MAX_FIELD = 64


class SyncError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None):
        message = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - 1] + "…"
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field if field is None or len(field) <= MAX_FIELD else field[:MAX_FIELD - 1] + "…"

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class EnvelopeError(SyncError):
    """The request as a whole is refused: nothing is applied (HTTP 400 unless `status` says otherwise)."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 400):
        super().__init__(code, message, field)
        self.status = status


class OpRejected(SyncError):
    """One op is refused; the others in the request still apply."""
