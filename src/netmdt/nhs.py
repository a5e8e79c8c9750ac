"""NHS number check digit (NHS Data Dictionary, attribute NHS NUMBER: the Modulus 11 algorithm).

Definition: https://www.datadictionary.nhs.uk/attributes/nhs_number.html (archived release
August 2021: https://archive.datadictionary.nhs.uk/DD%20Release%20August%202021/attributes/nhs_number.html).
An NHS number is 10 digits; the tenth is a check digit. Multiply the first nine digits by
the weights 10, 9, ..., 2, add the products, take the remainder on division by 11 and
subtract it from 11. A result of 11 gives check digit 0; a result of 10 means the number
is invalid and never issued. The range 999 000 0000 to 999 999 9999 is never issued to a
person and is used for test data (the demo patients' numbers come from it).
"""

from __future__ import annotations

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(first9: str) -> int | None:
    """The check digit for nine digits, or None where no NHS number can have them (result 10)."""
    if len(first9) != 9 or not (first9.isascii() and first9.isdigit()):
        raise ValueError(f"expected 9 digits, got {first9!r}")
    total = sum(int(d) * w for d, w in zip(first9, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


def normalise_nhs_number(s: str) -> str:
    """Drop the spaces and hyphens people write NHS numbers with (``943 476 5919``)."""
    return s.replace(" ", "").replace("-", "")


def nhs_number_valid(s: str) -> bool:
    """True if ``s`` is a valid NHS number: 10 digits (spaces or hyphens allowed), correct
    check digit."""
    digits = normalise_nhs_number(s)
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])
