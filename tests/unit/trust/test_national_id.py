from datetime import date

import pytest

from muli.trust import national_id


def test_synthetic_numbers_pass_the_check_digits():
    numbers = list(national_id.synthetic_numbers(date(1992, 3, 14)))
    assert numbers
    assert all(national_id.is_valid(n) for n in numbers)


def test_synthetic_numbers_carry_month_plus_80():
    nid = next(national_id.synthetic_numbers(date(1992, 3, 14)))
    assert nid[2:4] == "83"


@pytest.mark.parametrize("bad", ["", "123", "abcdefghijk", "15839212345", "00000000000", "320392500001"])
def test_malformed_or_wrong_check_digit_numbers_are_refused(bad):
    assert not national_id.is_valid(bad)


def test_one_changed_digit_is_caught():
    nid = next(national_id.synthetic_numbers(date(1985, 7, 1)))
    changed = nid[:5] + str((int(nid[5]) + 1) % 10) + nid[6:]
    assert not national_id.is_valid(changed)
