"""Who may read, add to and rate which records: one rule, used by the web and the application alike.

- An organisation reads only its own body's records. Another body's record
  does not exist for it: asking for it is answered exactly as for an unknown
  id (``NotFound``), so it cannot learn when others are inspected. The same
  holds for the register of bodies (an organisation reads its own body: its
  inspections and figures) and for selection plans (it is told its own
  body's entry, selected or not, and why; never the others').
- Case characteristics (special category personal data) leave the service
  in history, CSV and the feed only for the roles in
  ``SPECIAL_CATEGORY_ROLES``.
- A local assessor never samples a case of their own organisation.
- A case is rated by its assessor, recognised by id (two people may share a
  name, never an id), or by an inspector. An actor or assessor without an id
  (recorded before actors had ids) is nobody's match.
"""

from __future__ import annotations

from typing import Any

from domain.base import Actor, same_organisation
from domain.errors import NotFound, NotTheAssessor, OwnOrganisation, PermissionDenied

SPECIAL_CATEGORY_ROLES = ("auditor", "admin")
ORGANISATION_ROLES = ("local_assessor", "organisation")  # roles that speak for an organisation: need one
# Figures pooled over inspections not yet published (live, across bodies) are the inspectorate's own.
UNPUBLISHED_AGGREGATE_ROLES = ("inspector", "qa_reviewer", "auditor", "admin")


def may_read(actor: Actor, inspected_body: dict[str, Any]) -> bool:
    """An organisation reads only its own body's records; every other reader reads everything."""
    return actor.role != "organisation" or same_organisation(actor.organisation, inspected_body.get("name"))


def ensure_may_read(actor: Actor, inspected_body: dict[str, Any], absent: NotFound) -> None:
    """Raise ``absent`` (the very error an unknown id gets) when the record is not the actor's to read."""
    if not may_read(actor, inspected_body):
        raise absent


def may_see_characteristics(actor: Actor) -> bool:
    """Whether case characteristics may go to this reader in history, CSV and the feed."""
    return actor.role in SPECIAL_CATEGORY_ROLES


def ensure_may_read_unpublished_aggregates(actor: Actor) -> None:
    """Pooled figures of inspections not yet published are for the inspectorate's roles only: an
    organisation or a local assessor would learn of other bodies' findings before their reports."""
    if actor.role not in UNPUBLISHED_AGGREGATE_ROLES:
        raise PermissionDenied(f"the role '{actor.role}' may read published figures only")


def ensure_may_add_case(actor: Actor, inspected_body: dict[str, Any]) -> None:
    if actor.role == "local_assessor" and same_organisation(actor.organisation, inspected_body.get("name")):
        raise OwnOrganisation("a local assessor never inspects the work of their own organisation")


def is_the_assessor(actor: Actor, assessor: dict[str, Any]) -> bool:
    """The same person by id; a missing id (on either side) never matches, whatever the names."""
    return actor.id is not None and assessor.get("id") is not None and actor.id == assessor.get("id")


def ensure_may_rate(actor: Actor, assessor: dict[str, Any]) -> None:
    if actor.role != "inspector" and not is_the_assessor(actor, assessor):
        raise NotTheAssessor("only the case's assessor or an inspector may rate this case")
