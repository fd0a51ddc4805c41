"""How recommendations are answered and judged, as versioned data.

A recommendation is answered under the policy in force on the day its report
is published, so a later change of period never moves an earlier deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

RESPONSES = ("agreed", "partly_agreed", "not_agreed")
PROGRESS = ("not_started", "in_progress", "achieved")
JUDGEMENTS = ("achieved", "partly_achieved", "not_achieved")


@dataclass(frozen=True)
class RecommendationsPolicy:
    code: str
    valid_from: date
    # The addressee's response (agreed, partly agreed, not agreed) is due this many working days
    # (England and Wales: weekends and bank holidays skipped) after the report is published.
    response_working_days: int
    source: str
    responses: tuple[str, ...] = RESPONSES
    progress: tuple[str, ...] = PROGRESS
    judgements: tuple[str, ...] = JUDGEMENTS


POLICIES: tuple[RecommendationsPolicy, ...] = (
    RecommendationsPolicy(
        code="RECOMMENDATIONS-2009",
        valid_from=date(2009, 4, 1),
        response_working_days=40,
        source=(
            "Ours. HMI Probation asks for a 'robust and timely action plan' that says of each recommendation "
            "whether it is agreed, partly agreed or not agreed (HMPPS action plan template, 'A Response to "
            "the HMI Probation Inspection Report'), and names no period. 40 working days is about two months, "
            "the period the nearest statutory precedent allows for an action plan after an inspection report "
            "(SI 2001/799, regulation 8(2): within two months of receiving the report)."
        ),
    ),
)


def recommendations_policy_for(published_on: date) -> RecommendationsPolicy:
    """The policy in force on the publication day (the first one for anything earlier)."""
    chosen = POLICIES[0]
    for policy in POLICIES:
        if policy.valid_from <= published_on:
            chosen = policy
    return chosen


def recommendations_policy_by_code(code: str) -> RecommendationsPolicy:
    for policy in POLICIES:
        if policy.code == code:
            return policy
    raise KeyError(code)
