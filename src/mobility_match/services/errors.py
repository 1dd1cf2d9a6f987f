"""The ways a service call can refuse; api/app.py maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ServiceError(Exception):
    """Base of the refusals below; the message is a sentence for the person asking.

    `details` are further members of the API's error body (JSON values), e.g. what a
    confirmation must name.
    """

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[str] = (),
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)
        self.details = dict(details or {})


class NotFound(ServiceError):
    """No such object, or not one the person asking may see (the two answer alike)."""


class Forbidden(ServiceError):
    """The person's role may not do this at all."""


class Conflict(ServiceError):
    """The object changed or is in a state where this cannot be done (e.g. round running)."""


class ConfirmationNeeded(Conflict):
    """The change is allowed but must be confirmed first: `details` say what and how."""


class Gone(ServiceError):
    """The object existed but is used up for good (e.g. an invitation link used or expired)."""


class Refused(ServiceError):
    """The request is understood but breaks a rule; `problems` lists every broken rule."""


class TooManyAttempts(ServiceError):
    """Too many failed sign-ins; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unauthenticated(ServiceError):
    """No valid session or token."""
