"""The password policy: checked as typed (never stripped), offline (no network)."""

from __future__ import annotations

from functools import cache

MIN_PASSWORD = 12
_ZXCVBN_CHARS = 72  # zxcvbn's own cap: its matching grows fast with the length


def password_problem(password: str, name: str = "") -> str | None:
    """Why ``password`` is refused, or None. Checked as typed: never stripped.

    NIST SP 800-63B and the NCSC: a minimum length, no composition rules, and a check
    against passwords known from breaches. The list is zxcvbn's (MIT licence, offline):
    its 30,000 commonest passwords from breach corpora, with its estimate of how many
    guesses a password would take (keyboard patterns, repeats, dates, l33t, the user name)."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if any(c in "\x00\r\n" for c in password) or not _encodable(password):
        return "no NUL, line-break or unpaired surrogate characters"
    if len(name) >= 4 and name.lower() in password.lower():
        return "must not contain the user name"
    if password.lower() in _common_passwords():
        return "this password is on a list of passwords known from data breaches"
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:_ZXCVBN_CHARS], user_inputs=[name] if name else [])
    if int(result["score"]) < 3:
        return (
            "too easy to guess (a common word, name, pattern or repeat); a passphrase of "
            "several unrelated words works well"
        )
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])
