"""Logging for every process: quiet at INFO, and nothing personal in any line.

Phone numbers, codes and tokens must never reach a log. Our own lines name ids and pseudonyms; the
libraries' lines are tamed here: the twilio SDK's request lines are off, rq's per-job lines are off (our
jobs log one line each), statement parameters are hidden by the engines (`engage.db`), and access lines
lose their query string and the token of a personal link (`/j/…`, `/b/…`, `/api/v1/scores/…`). As a last
guard every line is written through `RedactingFormatter`, which blanks what still looks like a phone
number, and the values PostgreSQL quotes in its own error details ("Key (phone)=(…) already exists")."""

from __future__ import annotations

import logging
import re

# A personal link's path: the token that follows is the holder's capability.
LINK_PATH = re.compile(r"(/(?:j|b|r|s|e)/|/api/v1/(?:ballots|speech|scores)/)[^/?\s\"]+")
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
PHONE_LIKE = re.compile(r"(?<![\w.])\+?(?:86)?1[3-9]\d{9}(?!\d)|(?<![\w.])\+\d{8,15}(?!\d)")
KEY_DETAIL = re.compile(r"(Key \([^)]*\)=\()[^)]*(\))")


def redact(text: str) -> str:
    """The text with every personal-link token replaced and every query string dropped."""
    text = LINK_PATH.sub(r"\1…", text)
    return re.sub(r"\?[^\s\"]*", "?…", text)


class RedactLinks(logging.Filter):
    """For access lines: the request line is an argument of the record, not its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def blank_personal(text: str) -> str:
    return PHONE_LIKE.sub("[number]", KEY_DETAIL.sub(r"\1…\2", text))


class RedactingFormatter(logging.Formatter):
    """The whole line, traceback included, with what looks personal blanked out."""

    def format(self, record: logging.LogRecord) -> str:
        return blank_personal(super().format(record))


def configure(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(FORMAT))
    # The twilio SDK logs every request at INFO, a dozen lines each, query parameters included (a list
    # by recipient carries the phone number): personal data, and more work than the send.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # rq logs three lines per job at INFO; our jobs log one line each saying what they did.
    logging.getLogger("rq").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").addFilter(RedactLinks())
