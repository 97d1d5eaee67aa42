"""Errors with stable codes: clients branch on `code`, people read `message`."""


class SyncError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

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
