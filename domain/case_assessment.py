"""The CaseAssessment aggregate: one sampled case, its judgements and moderations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import Actor, InspectorateAggregate, explicit_topics
from domain.errors import InvalidValue, NothingToModerate, RecordFrozen
from domain.frameworks import Framework

CHARACTERISTICS: dict[str, tuple[Any, ...]] = {
    "gender": ("female", "male", "other", "unknown"),
    "ethnicity": ("white", "bame", "unknown"),
    "age_band": ("10-14", "15-17", "18-24", "25-49", "50+", "unknown"),
    "disability": (True, False, None, "unknown"),
    "looked_after": (True, False, None, "unknown"),
    "disposal": ("pre_court", "community", "custody", "licence", "unknown"),
    "risk_level": ("low", "medium", "high", "very_high", "unknown"),
}


def item_key(area: str, criterion: str) -> str:
    return f"{area}/{criterion}"


def check_characteristics(characteristics: dict[str, Any]) -> None:
    for name, allowed in CHARACTERISTICS.items():
        if name not in characteristics:
            raise InvalidValue(f"characteristics.{name}", "is required")
        value = characteristics[name]
        if not any(value is option or (type(value) is type(option) and value == option) for option in allowed):
            raise InvalidValue(f"characteristics.{name}", "is not one of the allowed values")
    unknown = set(characteristics) - set(CHARACTERISTICS)
    if unknown:
        raise InvalidValue("characteristics", f"unknown characteristic(s): {', '.join(sorted(unknown))}")


def judgement_key(judgement: dict[str, Any]) -> str:
    """The item a judgement is of: ``area/criterion`` (2009) or ``standard/question`` (2018)."""
    if "standard" in judgement:
        return item_key(judgement["standard"], judgement["question"])
    return item_key(judgement["area"], judgement["criterion"])


def check_judgements(
    framework: Framework, judgements: list[dict[str, Any]], characteristics: dict[str, Any] | None = None
) -> None:
    if not judgements:
        raise InvalidValue("judgements", "at least one judgement is required")
    seen = set()
    for judgement in judgements:
        if framework.rates_standards:
            _check_key_question(framework, judgement, characteristics or {})
        else:
            if "area" not in judgement or "criterion" not in judgement or "standard" in judgement:
                raise InvalidValue(
                    "judgements", f"{framework.code} judges areas and criteria: {{area, criterion, sufficient}}"
                )
            framework.check_item(judgement["area"], judgement["criterion"])
        if judgement.get("sufficient") not in (True, False, None):
            raise InvalidValue("sufficient", "must be true, false or null")
        key = judgement_key(judgement)
        if key in seen:
            raise InvalidValue("judgements", f"'{key}' is judged twice in one request")
        seen.add(key)


def _check_key_question(framework: Framework, judgement: dict[str, Any], characteristics: dict[str, Any]) -> None:
    """A 2018 judgement names a case standard that applies to this case, and one of its key questions."""
    if "standard" not in judgement or "question" not in judgement or "area" in judgement or "criterion" in judgement:
        raise InvalidValue(
            "judgements", f"{framework.code} judges standards and key questions: {{standard, question, sufficient}}"
        )
    code, question = judgement["standard"], judgement["question"]
    applicable = framework.case_standards_for(characteristics)
    if code not in {s.code for s in applicable}:
        standard = framework.standard(code)
        why = (
            "is not a standard of"
            if standard is None
            else (
                "is rated by inspectors, not from cases, in"
                if standard.kind != "case"
                else "does not apply to this case in"
            )
        )
        raise InvalidValue(
            "standard", f"'{code}' {why} {framework.code}; this case answers {', '.join(s.code for s in applicable)}"
        )
    if question not in framework.key_questions:
        raise InvalidValue(
            "question", f"'{question}' is not a key question of {framework.code}: {', '.join(framework.key_questions)}"
        )


@explicit_topics
class CaseAssessment(InspectorateAggregate):
    @classmethod
    def sample(
        cls,
        inspection_id: UUID,
        framework: Framework,
        case_ref: str,
        characteristics: dict[str, Any],
        assessor: Actor,
    ) -> CaseAssessment:
        check_characteristics(characteristics)
        return cls(
            inspection_id=inspection_id,
            framework=framework.code,
            case_ref=case_ref,
            characteristics=dict(characteristics),
            assessor=assessor.as_dict(),
        )

    @event("Sampled", topic="case.sampled.v1")
    def __init__(
        self,
        inspection_id: UUID,
        framework: str,
        case_ref: str,
        characteristics: dict[str, Any],
        assessor: dict[str, Any],
    ) -> None:
        self.inspection_id = inspection_id
        self.framework = framework
        self.case_ref = case_ref
        self.characteristics = characteristics
        self.assessor = assessor
        self.judgements: dict[str, dict[str, Any]] = {}
        self.moderations: dict[str, dict[str, Any]] = {}
        self.locked = False  # true once the inspection's report is published
        self.erased = False  # true once the case's personal data is erased

    def __deepcopy__(self, memo: dict[int, Any]) -> CaseAssessment:
        """The copy the application's aggregate cache hands to each command, made cheaply.

        Judgement and moderation records, characteristics and the assessor are
        replaced by new dicts when they change, never changed in place, so
        copying the containers that hold them gives a copy a command cannot
        alter the cached original through (a full deep copy was a tenth of a
        rating request).
        """
        copy = object.__new__(type(self))
        state = self.__dict__.copy()
        for name in ("_pending_events",):
            state[name] = list(state[name])
        for name in ("characteristics", "assessor", "judgements", "moderations"):
            if state[name] is not None:  # (characteristics are None once erased)
                state[name] = dict(state[name])
        copy.__dict__.update(state)
        return copy

    def erase_personal_data(self, reason: str) -> bool:
        """Erase the case's reference, characteristics and notes; whether anything was left to erase.

        The event holds no personal data. Where the record keeps the erased
        fields (sealed with the case's own key), the key is destroyed with it
        (``application.personal_data``); in this state they are gone at once.
        """
        if not reason or not reason.strip():
            raise InvalidValue("reason", "is required")
        if getattr(self, "erased", False):
            return False
        self._erase(reason=reason)
        return True

    @event("PersonalDataErased", topic="case.personal_data_erased.v1")
    def _erase(self, reason: str) -> None:
        self.erased = True
        self.case_ref = None  # type: ignore[assignment]
        self.characteristics = None  # type: ignore[assignment]
        self.judgements = {k: {**j, "note": None} for k, j in self.judgements.items()}
        self.moderations = {k: {**m, "note": None, "moderation_note": None} for k, m in self.moderations.items()}

    def _refuse_if_erased(self) -> None:
        if getattr(self, "erased", False):
            raise RecordFrozen("the case's personal data is erased; it can no longer be judged")

    def rate(self, framework: Framework, judgements: list[dict[str, Any]], by: Actor) -> None:
        self._refuse_if_erased()
        if self.locked:
            raise RecordFrozen("the inspection is published; its judgements can no longer change")
        check_judgements(framework, judgements, self.characteristics)
        self._rate(judgements=[_clean(j) for j in judgements], by=by.as_dict())

    def moderate(self, framework: Framework, judgements: list[dict[str, Any]], note: str, by: Actor) -> None:
        self._refuse_if_erased()
        check_judgements(framework, judgements, self.characteristics)
        missing = [judgement_key(j) for j in judgements if judgement_key(j) not in self.judgements]
        if missing:
            raise NothingToModerate(f"no first judgement to moderate for: {', '.join(missing)}")
        self._moderate(
            judgements=[_clean(j) for j in judgements],
            note=note,
            by=by.as_dict(),
            after_publication=self.locked,
        )

    def lock_for_publication(self) -> None:
        if not self.locked:
            self._lock()

    @property
    def judged(self) -> bool:
        return bool(self.judgements)

    def verdicts(self) -> dict[tuple[str, str], bool | None]:
        """Current verdicts by (area, criterion); a 2018 key question is (``standard/question``, question)."""
        return {
            (key, j["question"]) if "standard" in j else (j["area"], j["criterion"]): j["sufficient"]
            for key, j in self.judgements.items()
        }

    @event("Rated", topic="case.rated.v1")
    def _rate(self, judgements: list[dict[str, Any]], by: dict[str, Any]) -> None:
        for judgement in judgements:
            self.judgements[judgement_key(judgement)] = {**judgement, "by": by}

    @event("Moderated", topic="case.moderated.v1")
    def _moderate(
        self, judgements: list[dict[str, Any]], note: str, by: dict[str, Any], after_publication: bool
    ) -> None:
        for judgement in judgements:
            key = judgement_key(judgement)
            first = self.judgements[key]
            self.moderations[key] = {
                **judgement,
                "first": first["sufficient"],
                "first_by": first["by"],
                "by": by,
                "moderation_note": note,
                "after_publication": after_publication,
            }

    @event("LockedForPublication", topic="case.locked_for_publication.v1")
    def _lock(self) -> None:
        self.locked = True


def _clean(judgement: dict[str, Any]) -> dict[str, Any]:
    if "standard" in judgement:
        return {
            "standard": judgement["standard"],
            "question": judgement["question"],
            "sufficient": judgement.get("sufficient"),
            "note": judgement.get("note"),
        }
    return {
        "area": judgement["area"],
        "criterion": judgement["criterion"],
        "sufficient": judgement.get("sufficient"),
        "note": judgement.get("note"),
    }
