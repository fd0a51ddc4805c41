"""Cases: input, query and output schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from domain.case_assessment import CHARACTERISTICS
from domain.frameworks import FRAMEWORKS, GENERAL_CRITERIA
from web.schemas import NAME, TEXT, OutputSchema, StrictBoolean, StrictSchema, StrictString

AREAS = tuple(sorted({area for f in FRAMEWORKS if not f.rates_standards for area in f.areas}))
CRITERIA = tuple(sorted({c for f in FRAMEWORKS if not f.rates_standards for c in f.criteria} | set(GENERAL_CRITERIA)))
STANDARDS = tuple(sorted({s.code for f in FRAMEWORKS for s in f.standards if s.kind == "case"}))
KEY_QUESTIONS = tuple(sorted({q for f in FRAMEWORKS for q in f.key_questions}))
# A framework has a handful of items; a long list is a mistake, not a sample.
MAX_JUDGEMENTS = 100


class FlagOrUnknown(fields.Field):
    """A characteristic that is true, false, null or 'unknown' (disability, looked_after)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"enum": [True, False, None, "unknown"], "nullable": True}
        super().__init__(required=True, allow_none=True, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or value == "unknown":
            return value
        raise ValidationError("must be true, false, null or 'unknown'")


def _choice(name: str) -> StrictString:
    return StrictString(required=True, validate=validate.OneOf(CHARACTERISTICS[name]))


class CharacteristicsIn(StrictSchema):
    gender = _choice("gender")
    ethnicity = _choice("ethnicity")
    age_band = _choice("age_band")
    disability = FlagOrUnknown()
    looked_after = FlagOrUnknown()
    disposal = _choice("disposal")
    risk_level = _choice("risk_level")


class AddCaseIn(StrictSchema):
    case_ref = StrictString(
        required=True, validate=NAME, metadata={"description": "The provider's reference, never a name."}
    )
    characteristics = fields.Nested(CharacteristicsIn, required=True)


class JudgementIn(StrictSchema):
    """A 2009 judgement names an area and a criterion; a 2018 one a case standard and a key question."""

    area = StrictString(validate=validate.OneOf(AREAS), metadata={"description": "2009 frameworks"})
    criterion = StrictString(validate=validate.OneOf(CRITERIA), metadata={"description": "2009 frameworks"})
    standard = StrictString(validate=validate.OneOf(STANDARDS), metadata={"description": "2018 frameworks"})
    question = StrictString(validate=validate.OneOf(KEY_QUESTIONS), metadata={"description": "2018 frameworks"})
    sufficient = StrictBoolean(required=True, allow_none=True, metadata={"description": "null: not applicable"})
    note = StrictString(load_default=None, allow_none=True, validate=TEXT)

    @validates_schema
    def one_shape(self, data: dict[str, Any], **_: object) -> None:
        if {"area", "criterion"} <= data.keys() and not {"standard", "question"} & data.keys():
            return
        if {"standard", "question"} <= data.keys() and not {"area", "criterion"} & data.keys():
            return
        if not {"standard", "question"} & data.keys():  # the 2009 shape, incomplete: as when both were required
            raise ValidationError(
                {name: ["Missing data for required field."] for name in ("area", "criterion") if name not in data}
            )
        raise ValidationError(
            "a judgement is {area, criterion, sufficient} (2009 frameworks) "
            "or {standard, question, sufficient} (2018 frameworks)",
            "_schema",
        )


_AREA_SET, _CRITERION_SET = frozenset(AREAS), frozenset(CRITERIA)
_JUDGEMENT_KEYS = frozenset(("area", "criterion", "sufficient", "note"))
_REQUIRED_KEYS = frozenset(("area", "criterion", "sufficient"))


class _Judgements(fields.List):
    """A list of JudgementIn. Every rating and moderation sends one, and loading it item by item
    through the nested schema was a fifth of a rating's CPU: a list that plainly passes every rule
    of JudgementIn is taken as it is; anything else goes through the schema, which gives the errors."""

    def __init__(self) -> None:
        super().__init__(fields.Nested(JudgementIn), required=True, validate=validate.Length(min=1, max=MAX_JUDGEMENTS))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        plain = _plainly_valid(value)
        return plain if plain is not None else super()._deserialize(value, attr, data, **kwargs)


def _plainly_valid(value: Any) -> list[dict[str, Any]] | None:
    """The judgements as JudgementIn would load them, if each plainly satisfies it; else None."""
    if type(value) is not list:
        return None
    loaded = []
    for item in value:
        if type(item) is not dict or not (_REQUIRED_KEYS <= item.keys() <= _JUDGEMENT_KEYS):
            return None
        area, criterion, sufficient, note = item["area"], item["criterion"], item["sufficient"], item.get("note")
        if (
            type(area) is not str
            or area not in _AREA_SET
            or type(criterion) is not str
            or criterion not in _CRITERION_SET
            or not (sufficient is None or type(sufficient) is bool)
            or note is not None  # a note has rules of its own (length, characters): the schema checks it
        ):
            return None
        loaded.append({"area": area, "criterion": criterion, "sufficient": sufficient, "note": None})
    return loaded


class RateIn(StrictSchema):
    judgements = _Judgements()


class ModerateIn(StrictSchema):
    judgements = _Judgements()
    note = StrictString(required=True, validate=TEXT)


class ActorOut(OutputSchema):
    id = fields.String(allow_none=True, metadata={"description": "the token's id (null if recorded before ids)"})
    name = fields.String()
    role = fields.String()
    organisation = fields.String(allow_none=True)


class JudgementOut(OutputSchema):
    area = fields.String()
    criterion = fields.String()
    standard = fields.String()
    question = fields.String()
    sufficient = fields.Boolean(required=True, allow_none=True)
    note = fields.String(allow_none=True)
    by = fields.Nested(ActorOut)


class ModerationOut(JudgementOut):
    first = fields.Boolean(allow_none=True)
    first_by = fields.Nested(ActorOut)
    moderation_note = fields.String()
    after_publication = fields.Boolean()


class CaseSummaryOut(OutputSchema):
    id = fields.UUID(required=True)
    inspection_id = fields.UUID(required=True)
    case_ref = fields.String(required=True)
    assessor = fields.Nested(ActorOut, required=True)
    judged = fields.Boolean()
    framework = fields.String()
    locked = fields.Boolean()
    version = fields.Integer()


class CaseOut(CaseSummaryOut):
    judgements = fields.List(fields.Nested(JudgementOut))
    moderations = fields.List(fields.Nested(ModerationOut))


class CaseDetailOut(CaseOut):
    characteristics = fields.Dict(keys=fields.String())


class CaseListOut(OutputSchema):
    items = fields.List(fields.Nested(CaseSummaryOut), required=True)


class ErasureIn(StrictSchema):
    reason = StrictString(
        required=True,
        validate=TEXT,
        metadata={"description": "Why the case's personal data is erased (recorded; no personal data, please)."},
    )


class ErasedOut(OutputSchema):
    erased = fields.Boolean(required=True)
