"""The 2018 framework on the aggregates: the events each command raises, and the rules' named errors."""

from datetime import date
from uuid import uuid4

import pytest

from domain.base import Actor
from domain.case_assessment import CaseAssessment
from domain.errors import IllegalTransition, InvalidValue, RecordFrozen, ShortSample, UnratedStandards
from domain.frameworks import framework_by_code
from domain.inspection import Inspection
from tests.factories import body, characteristics

ANN = Actor("Ann Inspector", "inspector")
YOS = framework_by_code("YOS-2018")


def topics(aggregate) -> list[str]:
    return [type(e).TOPIC for e in aggregate.collect_events()]


def in_fieldwork() -> Inspection:
    inspection = Inspection.schedule("YOS", body("Wigan YOS", "yot"), date(2019, 3, 4))
    inspection.start_fieldwork()
    inspection.collect_events()
    return inspection


def test_a_youth_case_answers_the_standards_of_its_disposal() -> None:
    court = CaseAssessment.sample(uuid4(), YOS, "C1", characteristics(disposal="custody"), ANN)
    court.collect_events()
    court.rate(YOS, [{"standard": "2.3", "question": "risk_of_harm", "sufficient": False}], ANN)
    (event,) = court.collect_events()
    assert type(event).TOPIC == "case.rated.v1"
    assert event.judgements == [{"standard": "2.3", "question": "risk_of_harm", "sufficient": False, "note": None}]
    assert court.verdicts() == {("2.3/risk_of_harm", "risk_of_harm"): False}
    with pytest.raises(InvalidValue, match="does not apply"):
        court.rate(YOS, [{"standard": "3.3", "question": "risk_of_harm", "sufficient": True}], ANN)
    with pytest.raises(InvalidValue, match=r"areas and criteria|standards and key questions"):
        court.rate(YOS, [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True}], ANN)
    assert court.collect_events() == []


def test_caseload_standard_ratings_and_ratings_are_events() -> None:
    inspection = in_fieldwork()
    inspection.record_caseload(20, {"gender": {"male": 15, "female": 5}})
    with pytest.raises(InvalidValue, match="adds up to 19"):
        inspection.record_caseload(20, {"gender": {"male": 15, "female": 4}})
    inspection.rate_standard("1.1", "good", "seen", ANN.as_dict())
    inspection.rate_standard("2.1", "inadequate", "why", ANN.as_dict())
    assert topics(inspection) == [
        "inspection.caseload_recorded.v1",
        "inspection.standard_rated.v1",
        "inspection.standard_rated.v1",
    ]
    assert inspection.standard_ratings["2.1"]["kind"] == "override"
    assert inspection.sample_size == 14
    with pytest.raises(ShortSample):
        inspection.complete_fieldwork([])
    inspection.complete_fieldwork([], "too few files")
    assert topics(inspection) == ["inspection.short_sample_accepted.v1", "inspection.fieldwork_completed.v1"]
    with pytest.raises(IllegalTransition):
        inspection.record_caseload(20, {})
    with pytest.raises(UnratedStandards, match=r"1\.2, 1\.3, 1\.4, 3\.4"):
        inspection.publish_ratings({})
    for code in ("1.2", "1.3", "1.4", "3.4"):
        inspection.rate_standard(code, "good", "seen", ANN.as_dict())
    inspection.publish_ratings({"overall": {"rating": "good", "score": 10, "max": 15}, "standards": {}})
    inspection.publish(date(2019, 6, 1), date(2019, 6, 1), {}, {}, False, None)
    assert topics(inspection)[-2:] == ["inspection.ratings_published.v1", "inspection.report_published.v1"]
    with pytest.raises(RecordFrozen):
        inspection.rate_standard("1.1", "good", "again", ANN.as_dict())


def test_a_2009_inspection_has_no_standards_or_caseload() -> None:
    inspection = Inspection.schedule("OMI2", body(), date(2011, 5, 3))
    with pytest.raises(InvalidValue):
        inspection.rate_standard("1.1", "good", "x", ANN.as_dict())
    with pytest.raises(InvalidValue):
        inspection.record_caseload(10, {})
    assert inspection.caseload is None and dict(inspection.standard_ratings) == {}
