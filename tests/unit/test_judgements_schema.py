"""The judgements list loads as the nested schema would, whether it takes the plain path or not."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from web.cases.schemas import JudgementIn, RateIn, _plainly_valid

GOOD = [
    {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True},
    {"area": "risk_of_harm", "criterion": "interventions", "sufficient": None},
    {"area": "safeguarding", "criterion": "assessment_and_planning", "sufficient": False, "note": None},
]


def test_a_plainly_valid_list_loads_exactly_as_the_nested_schema_loads_it() -> None:
    assert _plainly_valid(GOOD) is not None
    assert RateIn().load({"judgements": GOOD})["judgements"] == JudgementIn(many=True).load(GOOD)


@pytest.mark.parametrize(
    "item",
    [
        {"area": "risk_of_harm", "criterion": "outcomes"},  # sufficient missing
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": 1},  # not a boolean
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": "yes"},
        {"area": "nowhere", "criterion": "outcomes", "sufficient": True},
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True, "extra": 1},
        {"area": ["risk_of_harm"], "criterion": "outcomes", "sufficient": True},
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True, "note": ""},
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True, "note": "bad\x00"},
        "risk_of_harm",
    ],
)
def test_anything_else_goes_through_the_schema_and_gets_its_field_errors(item: Any) -> None:
    assert _plainly_valid([item]) is None
    with pytest.raises(ValidationError) as raised:
        RateIn().load({"judgements": [GOOD[0], item]})
    with pytest.raises(ValidationError) as nested:
        JudgementIn(many=True).load([GOOD[0], item])
    assert raised.value.messages == {"judgements": nested.value.messages}


def test_a_valid_note_goes_through_the_schema_and_is_kept() -> None:
    judgement = {**GOOD[0], "note": "Plan reviewed with the manager."}
    assert _plainly_valid([judgement]) is None
    assert RateIn().load({"judgements": [judgement]})["judgements"] == [judgement]


def test_the_list_length_rules_still_hold_on_the_plain_path() -> None:
    with pytest.raises(ValidationError):
        RateIn().load({"judgements": []})
    with pytest.raises(ValidationError):
        RateIn().load({"judgements": GOOD * 40})
