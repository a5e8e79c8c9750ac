"""NHS numbers: ten digits, the last a modulus-11 check digit.

NHS Data Dictionary, "NHS Number": multiply each of the first nine digits by a weight
from 10 down to 2, sum, take the remainder on division by 11 and subtract it from 11.
A result of 11 gives check digit 0; a result of 10 means the number is invalid.
"""

from __future__ import annotations


def nhs_check_digit(first9: str) -> int | None:
    """The check digit for nine digits, or None when no valid number can end them."""
    if len(first9) != 9 or not first9.isdigit():
        raise ValueError("nhs_check_digit needs exactly nine digits")
    total = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


def normalise_nhs_number(text: str) -> str:
    """Drop the spaces and hyphens people write NHS numbers with (``943 476 5919``)."""
    return text.replace(" ", "").replace("-", "")


def nhs_number_valid(text: str) -> bool:
    """True for ten digits whose last digit is the right check digit."""
    digits = normalise_nhs_number(text)
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])
