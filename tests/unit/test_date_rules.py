"""Dates an inspection cannot have: outside its programme's period, published in the future or before
fieldwork, and follow-ups that cannot follow up (issue 16, item 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import uuid4

import pytest

from domain import frameworks
from domain.errors import IllegalTransition, InvalidValue
from domain.frameworks import framework_by_code, framework_for
from domain.inspection import Inspection
from domain.reinspection import Reinspection
from tests.factories import body


@pytest.mark.parametrize(
    ("programme", "first", "last", "outside"),
    [
        ("CCI", date(2009, 4, 1), date(2012, 3, 31), (date(2009, 3, 31), date(2012, 4, 1))),
        ("OMI2", date(2009, 9, 1), date(2013, 3, 31), (date(2009, 8, 31), date(2013, 4, 1))),
    ],
)
def test_fieldwork_must_start_within_the_programmes_period(
    programme: str, first: date, last: date, outside: tuple[date, date]
) -> None:
    assert framework_for(programme, first).programme == programme
    assert framework_for(programme, last).programme == programme
    for day in (*outside, date(1, 1, 1), date(2018, 7, 16), date(9999, 12, 31)):
        with pytest.raises(InvalidValue) as error:
            framework_for(programme, day)
        assert error.value.field == "fieldwork_start"
        assert programme in error.value.detail and first.isoformat() in error.value.detail


def test_a_year_one_or_year_9999_fieldwork_is_refused_not_filed_under_year_0_01() -> None:
    for day in (date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(InvalidValue) as error:
            Inspection.schedule("CCI", body(type_="yot"), day)
        assert error.value.field == "fieldwork_start"


def test_the_version_in_force_is_chosen_from_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later version of a programme takes over on its start; a date between periods is in none."""
    cci = framework_by_code("CCI-2009")
    later = replace(cci, code="CCI-2014", valid_from=date(2014, 4, 1), valid_to=None)
    monkeypatch.setattr(frameworks, "FRAMEWORKS", (*frameworks.FRAMEWORKS, later))
    assert framework_for("CCI", date(2012, 3, 31)).code == "CCI-2009"
    assert framework_for("CCI", date(2014, 4, 1)).code == "CCI-2014"
    assert framework_for("CCI", date(2030, 1, 1)).code == "CCI-2014"
    with pytest.raises(InvalidValue) as error:
        framework_for("CCI", date(2013, 6, 1))
    assert (
        "CCI-2009 2009-04-01 to 2012-03-31" in error.value.detail and "CCI-2014 2014-04-01 to now" in error.value.detail
    )


def test_a_body_name_of_spaces_alone_is_refused() -> None:
    for name in ("", "   ", "\t"):
        with pytest.raises(InvalidValue) as error:
            Inspection.schedule("OMI2", body(name), date(2011, 5, 3))
        assert error.value.field == "inspected_body.name"


def ready_to_publish(start: date = date(2011, 5, 3)) -> Inspection:
    inspection = Inspection.schedule("OMI2", body(), start)
    inspection.start_fieldwork()
    inspection.complete_fieldwork([])
    return inspection


def test_publication_is_not_in_the_future_nor_before_fieldwork() -> None:
    inspection = ready_to_publish()
    with pytest.raises(InvalidValue) as error:
        inspection.publish(date(2012, 1, 11), date(2012, 1, 10), {}, {}, False, None)
    assert error.value.field == "published_on" and "future" in error.value.detail
    with pytest.raises(InvalidValue) as error:
        inspection.publish(date(2011, 5, 2), date(2012, 1, 10), {}, {}, False, None)
    assert error.value.field == "published_on" and "before its fieldwork" in error.value.detail
    inspection.publish(date(2012, 1, 10), date(2012, 1, 10), {}, {}, False, None)  # today itself is fine
    assert inspection.published_on == date(2012, 1, 10)


def reinspection(published_on: date = date(2012, 1, 10)) -> Reinspection:
    return Reinspection(
        origin_inspection_id=uuid4(),
        programme="OMI2",
        inspected_body=body(),
        published_on=published_on,
        due_on=date(2013, 1, 10),
        original_scores={},
    )


def test_a_follow_up_must_start_after_the_origin_was_published() -> None:
    for start in (date(2011, 6, 1), date(2012, 1, 10)):
        with pytest.raises(IllegalTransition) as error:
            reinspection().schedule(uuid4(), "OMI2", body(), "scheduled", start)
        assert "after the origin was published" in error.value.detail
    follow_up = reinspection()
    follow_up.schedule(uuid4(), "OMI2", body(), "scheduled", date(2012, 1, 11))
    assert follow_up.status == "scheduled"


@pytest.mark.parametrize("status", ["fieldwork", "fieldwork_complete", "published"])
def test_a_follow_up_must_still_be_scheduled(status: str) -> None:
    with pytest.raises(IllegalTransition) as error:
        reinspection().schedule(uuid4(), "OMI2", body(), status, date(2012, 6, 1))
    assert "scheduled inspection" in error.value.detail


def test_an_inspection_under_way_cannot_be_designated_a_reinspection() -> None:
    inspection = Inspection.schedule("OMI2", body(), date(2012, 6, 1))
    inspection.start_fieldwork()
    with pytest.raises(IllegalTransition):
        inspection.designate_as_reinspection(uuid4())
