from datetime import date

import pytest

from domain.calendar import add_months, add_working_days
from domain.errors import InvalidValue
from domain.frameworks import business_year, framework_for
from infrastructure.holidays_calendar import is_bank_holiday


def test_business_year_runs_april_to_march() -> None:
    assert business_year(date(2011, 4, 1)) == "2011-12"
    assert business_year(date(2012, 3, 31)) == "2011-12"
    assert business_year(date(2009, 12, 1)) == "2009-10"
    assert business_year(date(1999, 6, 1)) == "1999-00"


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2011, 6, 15), 12) == date(2012, 6, 15)
    assert add_months(date(2012, 2, 29), 12) == date(2013, 2, 28)
    assert add_months(date(2011, 11, 30), 3) == date(2012, 2, 29)


def test_twenty_working_days_skip_weekends() -> None:
    # Monday 2011-06-06 + 20 working days, no holidays in between -> Monday 2011-07-04
    assert add_working_days(date(2011, 6, 6), 20, lambda d: False) == date(2011, 7, 4)


def test_twenty_working_days_skip_england_and_wales_bank_holidays() -> None:
    assert is_bank_holiday(date(2011, 12, 26)) and is_bank_holiday(date(2011, 12, 27))
    assert is_bank_holiday(date(2012, 1, 2))
    assert not is_bank_holiday(date(2012, 3, 17))  # St Patrick's Day is Northern Ireland only
    # Received Thu 2011-12-15: 16,19,20,21,22,23,28,29,30, 3,4,5,6,9,10,11,12,13,16,17 Jan
    assert add_working_days(date(2011, 12, 15), 20, is_bank_holiday) == date(2012, 1, 17)


def test_framework_is_data_and_unknown_programme_is_invalid() -> None:
    framework = framework_for("CCI", date(2010, 1, 1))
    assert framework.areas == ("safeguarding", "risk_of_harm", "likelihood_of_reoffending")
    assert framework.reinspection_interval_months == 12
    with pytest.raises(InvalidValue):
        framework_for("XYZ", date(2010, 1, 1))
