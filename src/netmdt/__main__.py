"""``python -m netmdt``: the same command as ``netmdt``."""

from netmdt.cli import main

main()
