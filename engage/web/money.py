"""Amounts of money in the reader's language: ¥0.15 on a Chinese page, CN¥0.15 on an English one (Babel
knows each locale's symbol and placement), always with the currency the settings name."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

from engage import i18n


def money(amount: Decimal | int | float, currency: str, locale: str | None = None) -> str:
    return str(format_currency(amount, currency, locale=locale or i18n.current_locale.get()))
