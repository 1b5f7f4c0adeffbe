from datetime import date

import pytest

from kesu.complaint.numbering import check_pattern, format_number, period_key


def test_seed_001_aabbccddd_is_year_month_day_and_running_count_of_the_year():
    assert format_number("{yy}{mm}{dd}{seq:3}", date(2010, 9, 12), 99) == "100912099"
    assert period_key("year", date(2010, 9, 12)) == "2010"


def test_year_month_serial_restarts_each_month():
    assert format_number("FS{yyyy}{mm}{seq:4}", date(2026, 11, 3), 7) == "FS2026110007"
    assert period_key("month", date(2026, 11, 3)) != period_key("month", date(2026, 12, 1))


def test_a_count_beyond_the_padding_makes_a_longer_number_instead_of_wrapping():
    assert format_number("{yy}{mm}{dd}{seq:3}", date(2026, 1, 5), 1234) == "2601051234"


@pytest.mark.parametrize("bad", ["{yy}{mm}", "{seq:3}{seq:2}", "{yy}{foo}{seq:3}", "A B{seq:3}"])
def test_a_pattern_without_exactly_one_counter_or_with_unknown_tokens_is_refused(bad):
    with pytest.raises(ValueError):
        check_pattern(bad)
