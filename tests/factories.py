"""Small builders of valid inputs, shared by the test tiers."""

from __future__ import annotations

from datetime import date
from typing import Any

OMI2_AREAS = ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
CCI_AREAS = ("safeguarding", "risk_of_harm", "likelihood_of_reoffending")
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")


def body(name: str = "Cumbria", type_: str = "probation_trust", region: str = "North West") -> dict[str, Any]:
    return {"name": name, "type": type_, "region": region}


def characteristics(**overrides: Any) -> dict[str, Any]:
    values = {
        "gender": "female",
        "ethnicity": "bame",
        "age_band": "18-24",
        "disability": False,
        "looked_after": None,
        "disposal": "community",
        "risk_level": "medium",
    }
    values.update(overrides)
    return values


def judgements(sufficient: bool | None, areas: tuple[str, ...] = OMI2_AREAS) -> list[dict[str, Any]]:
    return [{"area": a, "criterion": c, "sufficient": sufficient} for a in areas for c in CRITERIA]


FIELDWORK_START = date(2011, 5, 3)
