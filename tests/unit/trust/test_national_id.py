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


def _number(born: date, individual: int) -> str:
    """The synthetic number with the first individual number from `individual` whose check digits work."""
    for n in range(individual, individual + 50):
        nid = national_id.synthetic(born, n)
        if nid:
            return nid
    raise AssertionError("no check digits in 50 individual numbers")


@pytest.mark.parametrize(
    ("born", "individual"),
    [
        (date(2000, 2, 29), 500),  # leap day of 2000: 500-999 with year 00-39 is 2000-2039
        (date(2000, 2, 29), 900),
        (date(2039, 12, 31), 600),
        (date(1900, 1, 1), 0),  # 000-499 is 1900-1999
        (date(1999, 6, 30), 400),
        (date(1996, 2, 29), 100),
        (date(1854, 5, 5), 500),  # 500-749 with year 54-99 is 1854-1899
        (date(1896, 2, 29), 600),
        (date(1940, 1, 1), 900),  # 900-999 with year 40-99 is 1940-1999
        (date(1996, 2, 29), 950),
    ],
)
def test_the_century_comes_from_the_individual_number(born, individual):
    nid = _number(born, individual)
    assert national_id.is_valid(nid), nid
    assert national_id._birth_date(nid) == born


@pytest.mark.parametrize(
    ("day", "individual"),
    [
        ("290200", 100),  # 1900 was no leap year: 000-499 puts 29.02.00 in 1900
        ("290297", 500),  # 500-749 with year 97 is 1897, no leap year
        ("010150", 800),  # 750-899 with year 40-99 was never given out
    ],
)
def test_a_birth_date_that_never_was_is_refused(day, individual):
    """Check digits right, but the date does not exist in the century the number gives."""
    for n in range(individual, individual + 50):
        base = f"{day[:2]}{int(day[2:4]) + 80:02d}{day[4:]}{n:03d}"
        k1 = national_id._check_digit(base, national_id._W1)
        k2 = None if k1 is None else national_id._check_digit(base + str(k1), national_id._W2)
        if k2 is not None:
            assert not national_id.is_valid(f"{base}{k1}{k2}")
            return
    raise AssertionError("no check digits in 50 individual numbers")


def test_synthetic_numbers_match_the_birth_dates_century():
    for born in (date(2000, 2, 29), date(1977, 5, 17), date(1880, 8, 8)):
        numbers = list(national_id.synthetic_numbers(born, start=0))
        assert numbers
        assert all(national_id._birth_date(n) == born for n in numbers)
