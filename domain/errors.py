"""Named domain errors. The web layer maps each family to one HTTP status."""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base of every rule the domain enforces."""

    title = "Domain rule violated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidValue(DomainError):
    """A value is not acceptable whatever the state (422)."""

    title = "Invalid value"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


class RuleViolation(DomainError):
    """The lifecycle forbids this now, or it duplicates something (409)."""

    title = "Conflict with the current state"


class PermissionDenied(DomainError):
    """The actor may not do this to this object (403)."""

    title = "Forbidden"


class NotFound(DomainError):
    """No such object (404)."""

    title = "Not found"

    @classmethod
    def record(cls, kind: str, record_id: object, as_of: datetime | None = None) -> NotFound:
        """The one wording for a missing record: a record hidden from the caller gets exactly the same."""
        at = f" at {as_of.isoformat()}" if as_of is not None else ""
        return cls(f"no {kind} with id {record_id}{at}")


class VersionMismatch(DomainError):
    """The caller's expected version is not the current one (412)."""

    title = "Precondition failed"


class IllegalTransition(RuleViolation):
    title = "Illegal lifecycle step"


class DuplicateInspection(RuleViolation):
    title = "Duplicate inspection"


class DuplicateCase(RuleViolation):
    title = "Duplicate case"


class UnjudgedCases(RuleViolation):
    title = "Cases without judgements"


class RecordFrozen(RuleViolation):
    title = "Published record cannot change"


class NothingToModerate(RuleViolation):
    title = "Nothing to moderate"


class OwnOrganisation(PermissionDenied):
    title = "Own organisation"


class NotTheAssessor(PermissionDenied):
    title = "Not the case's assessor"


class UnratedStandards(RuleViolation):
    title = "Organisational standards unrated"


class ShortSample(RuleViolation):
    title = "Sample smaller than its size"


class DuplicateBody(RuleViolation):
    title = "Duplicate body"
