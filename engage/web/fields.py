"""Typed answers (and drafts) built from the records they describe: each field is read from the
attribute of the same name, unless the caller gives it (a count worked out here, a nested list). A
field added to both sides needs no third change here, and a field the source lacks fails at once.
Answers that carry personal data (a name, a number, a text's words) spell every field out instead,
so that what is masked or left out stays in plain sight."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def copy_fields(kind: type[T], source: object, **given: Any) -> T:
    """A `kind` (a dataclass): `given` fields as given, the rest from `source`."""
    assert dataclasses.is_dataclass(kind)
    values = {
        f.name: given[f.name] if f.name in given else getattr(source, f.name)
        for f in dataclasses.fields(kind)
    }
    return kind(**values)
