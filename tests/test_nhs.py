from __future__ import annotations

import pytest

from netmdt.nhs import nhs_check_digit, nhs_number_valid


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("9434765919", True),  # the NHS Data Dictionary's worked example
        ("943 476 5919", True),
        ("9434765918", False),  # last digit changed
        ("9434765910", False),
        ("9990000018", True),  # test range: 9*10+9*9+9*8+1*2 = 245, 245 % 11 = 3, 11 - 3 = 8
        ("9990000026", True),
        ("9990000000", False),
        ("0000000000", True),  # total 0: 11 - 0 = 11 -> check digit 0
        ("1000000010", False),  # check result 10: never a valid number, whatever the last digit
        ("943476591", False),  # nine digits
        ("94347659190", False),  # eleven digits
        ("943476591X", False),
        ("", False),
        ("９４３４７６５９１９", False),  # full-width digits are not ASCII digits
    ],
)
def test_nhs_number_valid(number: str, valid: bool) -> None:
    assert nhs_number_valid(number) is valid


def test_check_digit() -> None:
    assert nhs_check_digit("943476591") == 9
    assert nhs_check_digit("000000000") == 0
    assert nhs_check_digit("100000001") is None  # 10 + 2 = 12, 12 % 11 = 1, 11 - 1 = 10


def test_check_digit_rejects_anything_but_nine_digits() -> None:
    with pytest.raises(ValueError, match="expected 9 digits"):
        nhs_check_digit("12345678")
