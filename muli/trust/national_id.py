"""Norwegian national identity numbers (fødselsnummer, D-number, synthetic test numbers).

Checked: the format, a birth date that exists (its century taken from the individual
number, digits 7-9) and the two mod-11 check digits. Synthetic test numbers (month + 80, as
Skatteetaten's test population uses) are what demo data and tests use.
"""

from __future__ import annotations

from datetime import date

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if rest == 11 else None if rest == 10 else rest


def _century(individual: int, year: int) -> int | None:
    """The century of a birth year from the individual number (Folkeregisteret's rules)."""
    if individual <= 499:
        return 1900
    if individual <= 749 and year >= 54:
        return 1800
    if year <= 39:
        return 2000
    if individual >= 900:
        return 1900
    return None  # 750-899 with a year from 40 to 99: never given out


def _birth_date(nid: str) -> date | None:
    day, month, year = int(nid[0:2]), int(nid[2:4]), int(nid[4:6])
    if day > 40:  # D-number
        day -= 40
    if month > 80:  # synthetic test number
        month -= 80
    elif month > 40:  # H-number
        month -= 40
    century = _century(int(nid[6:9]), year)
    if century is None:
        return None
    try:
        return date(century + year, month, day)
    except ValueError:
        return None


def is_valid(nid: str) -> bool:
    """Eleven digits, a possible birth date, and both check digits right."""
    if len(nid) != 11 or not nid.isdigit() or _birth_date(nid) is None:
        return False
    k1 = _check_digit(nid[:9], _W1)
    if k1 is None or k1 != int(nid[9]):
        return False
    k2 = _check_digit(nid[:10], _W2)
    return k2 is not None and k2 == int(nid[10])


def synthetic(born: date, individual: int) -> str | None:
    """A synthetic test number (month + 80) for a birth date, or None if the check digit fails."""
    base = f"{born.day:02d}{born.month + 80:02d}{born.year % 100:02d}{individual:03d}"
    k1 = _check_digit(base, _W1)
    if k1 is None:
        return None
    k2 = _check_digit(base + str(k1), _W2)
    return None if k2 is None else f"{base}{k1}{k2}"


def synthetic_numbers(born: date, start: int = 500):
    """Valid synthetic numbers for a birth date, in order of individual number (only those
    whose individual number gives the birth date's century)."""
    for individual in range(start, 1000):
        nid = synthetic(born, individual)
        if nid and _birth_date(nid) == born:
            yield nid
