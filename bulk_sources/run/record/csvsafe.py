"""Neutralise spreadsheet formulas in report cells (OWASP CSV injection advice).

A cell that starts with = + - @ tab or CR is run as a formula by Excel, LibreOffice and
Google Sheets; a leading single quote makes them show it as text instead.
"""

from __future__ import annotations

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_TRIGGERS) else cell
