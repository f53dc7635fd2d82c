"""Roster files, pure: reading an uploaded CSV of experts or deputies into clean records or row
errors, and writing the residents export. No database, no web: data in, data out.

A roster is read whole before anything is imported: every row is checked and every error is reported
at once, so an organizer fixes the file in one go and an import is all or nothing.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first person is row 2.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import phonenumbers

from engage.csvcells import safe_cell
from engage.errors import InvalidInput, RuleBroken
from engage.i18n import LOCALES, translated
from engage.phones import normalise
from engage.residents.labels import AGE_BAND_LABELS, GENDER_LABELS, PARTICIPANT_TYPE_LABELS
from engage.residents.models import AGE_BANDS, GENDERS, ParticipantType


def N_(message: str) -> str:
    """Marks a text for the catalogue; it is translated where it is shown."""
    return message


COLUMNS = ("name", "phone", "community", "participant_type", "expertise", "work_unit", "gender", "age_band")
REQUIRED_COLUMNS = ("name", "phone", "community", "participant_type")
ROSTER_TYPES = (
    ParticipantType.EXPERT.value,
    ParticipantType.DEPUTY_PC.value,
    ParticipantType.DEPUTY_PARTY.value,
    ParticipantType.DEPUTY_CPPCC.value,
)
MAX_ROWS = 5000  # one district's rosters are far smaller; a bigger file is a mistake
MAX_LENGTHS = {"name": 100, "expertise": 100, "work_unit": 200}

# Organizers fill rosters in Chinese spreadsheets: accept the words they would type.
TYPE_ALIASES = {
    "专家": ParticipantType.EXPERT.value,
    "人大代表": ParticipantType.DEPUTY_PC.value,
    "党代表": ParticipantType.DEPUTY_PARTY.value,
    "政协委员": ParticipantType.DEPUTY_CPPCC.value,
}
GENDER_ALIASES = {"女": "female", "男": "male", "f": "female", "m": "male"}
# Offices head their sheets in Chinese: the words they use for each column, beside our own names.
HEADER_ALIASES = {
    "姓名": "name",
    "名字": "name",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "电话": "phone",
    "联系电话": "phone",
    "社区": "community",
    "所在社区": "community",
    "参与身份": "participant_type",
    "身份": "participant_type",
    "类别": "participant_type",
    "专业领域": "expertise",
    "专业": "expertise",
    "工作单位": "work_unit",
    "单位": "work_unit",
    "性别": "gender",
    "年龄段": "age_band",
    "年龄": "age_band",
}

CHINESE_COLUMNS = ("姓名", "手机号", "社区", "参与身份", "专业领域", "工作单位", "性别", "年龄段")


def _label_aliases(labels: Mapping[str, str]) -> dict[str, str]:
    """{label in every language, folded: code}: a sheet may carry the words the pages show."""
    return {
        translated(label, locale).casefold(): code for code, label in labels.items() for locale in LOCALES
    }


AGE_BAND_ALIASES = (
    _label_aliases(AGE_BAND_LABELS)
    | {band.replace("-", "–"): band for band in AGE_BANDS}
    | {f"{band}岁": band for band in AGE_BANDS}
)
TYPE_ALIASES |= {
    word: code for word, code in _label_aliases(PARTICIPANT_TYPE_LABELS).items() if code in ROSTER_TYPES
}
GENDER_ALIASES |= _label_aliases(GENDER_LABELS)


@dataclass(frozen=True)
class RowError:
    """One problem in one cell. `message` is an English text with %(name)s slots, also a catalogue
    key, so a page can show it translated and the API in English."""

    row: int
    field: str
    message: str
    params: Mapping[str, str | int] = dataclasses.field(default_factory=dict)
    allowed: tuple[str, ...] = ()  # when the cell names something unknown: what it may name

    def text(self, translate: Callable[[str], str] = str) -> str:
        return translate(self.message) % dict(self.params)


@dataclass(frozen=True)
class RosterRecord:
    row: int
    name: str
    phone: str  # E.164
    community: str  # a community code
    participant_type: str
    expertise: str | None
    work_unit: str | None
    gender: str | None
    age_band: str | None


@dataclass(frozen=True)
class Roster:
    records: tuple[RosterRecord, ...]
    errors: tuple[RowError, ...]
    sha256: str  # of the uploaded bytes: names the file in the audit log without naming anyone

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.records)


class RosterRejected(RuleBroken):
    """A roster with errors: nothing was imported. Carries every row error (one naming an unknown
    community or option lists the valid ones). 422: /schema says the body is a CSV text; its columns
    and rows are rules no JSON Schema states."""

    code = "roster_rejected"

    def __init__(self, errors: Sequence[RowError]) -> None:
        first = errors[0]
        super().__init__(first.field, f"{len(errors)} problem(s) in the file; nothing was imported")
        self.errors = tuple(errors)


def community_lookup(communities: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """(code, name_zh, name_en) rows -> {what an organizer may type: code}. Codes and English names
    match without regard to case; "五里河社区" and "五里河" both find wulihe."""
    lookup: dict[str, str] = {}
    for code, name_zh, name_en in communities:
        lookup[name_en.casefold()] = code
        lookup[name_zh] = code
        lookup[name_zh.removesuffix("社区")] = code
    for code, _, _ in communities:
        lookup[code.casefold()] = code  # a code always wins over a name that happens to spell it
    return lookup


def _decode(data: bytes) -> str | RowError:
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        pass
    try:
        # Excel's plain "CSV" on Chinese Windows writes GBK; GB18030 is its superset.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return RowError(
            1, "file", N_("The file is neither UTF-8 nor GBK text. In Excel, save it as “CSV UTF-8”.")
        )


def _column(name: str) -> str:
    name = name.strip().lstrip("\ufeff")
    return HEADER_ALIASES.get(name) or HEADER_ALIASES.get(name.removesuffix("*")) or name.casefold()


def _header(names: Sequence[str]) -> tuple[list[str], list[RowError]]:
    header = [_column(name) for name in names]
    errors = [
        RowError(1, name, N_("Unknown column “%(column)s”. The columns are: %(columns)s."), _cols(name))
        for name in header
        if name and name not in COLUMNS
    ]
    errors += [
        RowError(1, name, N_("The column “%(column)s” appears twice."), {"column": name})
        for name in sorted({n for n in header if n and header.count(n) > 1})
    ]
    errors += [
        RowError(
            1, name, N_("The column “%(column)s” is missing. The columns are: %(columns)s."), _cols(name)
        )
        for name in REQUIRED_COLUMNS
        if name not in header
    ]
    return header, errors


def _cols(column: str) -> dict[str, str | int]:
    return {"column": column, "columns": ",".join(COLUMNS)}


def _choice(value: str, choices: Sequence[str], aliases: Mapping[str, str]) -> str | None:
    folded = value.casefold()
    if folded in choices:
        return folded
    return aliases.get(value) or aliases.get(folded)


def _phone(row: int, raw: str, region: str) -> str | RowError:
    try:
        phone = normalise(raw, region)
    except InvalidInput as invalid:
        return RowError(row, "phone", invalid.detail)
    kind = phonenumbers.number_type(phonenumbers.parse(phone))
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return RowError(row, "phone", N_("not a mobile number: the invitation is sent by SMS"))
    return phone


def _not_one_of(row: int, field: str, choices: Sequence[str]) -> RowError:
    message = N_("must be one of: %(choices)s")
    return RowError(row, field, message, {"choices": ", ".join(choices)}, tuple(choices))


def _record(
    row: int, cells: Mapping[str, str], region: str, communities: Mapping[str, str]
) -> RosterRecord | list[RowError]:
    errors = [
        RowError(row, name, N_("contains control characters"))
        for name, value in cells.items()
        if not value.isprintable()
    ]

    def need(name: str) -> str:
        value = cells.get(name, "")
        if not value:
            errors.append(RowError(row, name, N_("required")))
        return value

    for name, limit in MAX_LENGTHS.items():
        if len(cells.get(name, "")) > limit:
            errors.append(RowError(row, name, N_("at most %(limit)s characters"), {"limit": limit}))
    name, raw_phone, raw_community, raw_type = (need(c) for c in REQUIRED_COLUMNS)
    phone = _phone(row, raw_phone, region) if raw_phone else None
    if isinstance(phone, RowError):
        errors.append(phone)
    community = communities.get(raw_community) or communities.get(raw_community.casefold())
    if raw_community and community is None:
        codes = tuple(sorted(set(communities.values())))
        message = N_("no community “%(value)s”; one of: %(choices)s")
        params = {"value": raw_community, "choices": ", ".join(codes)}
        errors.append(RowError(row, "community", message, params, codes))
    participant_type = _choice(raw_type, ROSTER_TYPES, TYPE_ALIASES)
    if raw_type and participant_type is None:
        errors.append(_not_one_of(row, "participant_type", ROSTER_TYPES))
    if participant_type == ParticipantType.EXPERT.value:
        need("expertise")
    gender = _choice(cells.get("gender", ""), GENDERS, GENDER_ALIASES)
    if cells.get("gender") and gender is None:
        errors.append(_not_one_of(row, "gender", GENDERS))
    raw_age = cells.get("age_band") or None
    age_band = _choice(raw_age, AGE_BANDS, AGE_BAND_ALIASES) if raw_age else None
    if raw_age is not None and age_band is None:
        errors.append(_not_one_of(row, "age_band", AGE_BANDS))
    if errors or not isinstance(phone, str) or community is None or participant_type is None:
        return errors
    return RosterRecord(
        row=row,
        name=name,
        phone=phone,
        community=community,
        participant_type=participant_type,
        expertise=cells.get("expertise") or None,
        work_unit=cells.get("work_unit") or None,
        gender=gender,
        age_band=age_band,
    )


def parse_roster(data: bytes, *, region: str, communities: Mapping[str, str]) -> Roster:
    """Check every row of an uploaded roster. `communities` is `community_lookup(...)`."""
    sha256 = hashlib.sha256(data).hexdigest()
    text = _decode(data)
    if isinstance(text, RowError):
        return Roster((), (text,), sha256)
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header, errors = _header(next(rows, []))
        if errors:
            return Roster((), tuple(errors), sha256)
        return _rows(enumerate(rows, start=2), header, region, communities, sha256)
    except csv.Error as broken:  # e.g. a cell longer than the csv module's field size limit
        return Roster(
            (),
            (RowError(rows.line_num, "file", N_("not a CSV file: %(problem)s"), {"problem": str(broken)}),),
            sha256,
        )


def _rows(
    rows: Iterable[tuple[int, list[str]]],
    header: list[str],
    region: str,
    communities: Mapping[str, str],
    sha256: str,
) -> Roster:
    errors: list[RowError] = []
    records: list[RosterRecord] = []
    first_row_of: dict[str, int] = {}
    for row, values in rows:
        if not any(value.strip() for value in values):
            continue  # blank lines, often at the end of a spreadsheet's export
        if row > MAX_ROWS + 1:
            errors.append(RowError(row, "file", N_("at most %(limit)s rows per file"), {"limit": MAX_ROWS}))
            break
        if len(values) > len(header) and any(v.strip() for v in values[len(header) :]):
            errors.append(RowError(row, "file", N_("more cells than there are columns")))
            continue
        # Line breaks inside a cell (Alt+Enter in Excel) and runs of spaces become one space.
        cells = {name: " ".join(value.split()) for name, value in zip(header, values, strict=False) if name}
        checked = _record(row, cells, region, communities)
        if isinstance(checked, list):
            errors += checked
            continue
        if checked.phone in first_row_of:
            message = N_("the same number as row %(other)s")
            errors.append(RowError(row, "phone", message, {"other": first_row_of[checked.phone]}))
            continue
        first_row_of[checked.phone] = row
        records.append(checked)
    if not records and not errors:
        errors.append(RowError(2, "file", N_("The file has a header but no people.")))
    return Roster(tuple(records), tuple(errors), sha256)


def reject_registered(roster: Roster, registered: Mapping[str, str]) -> Roster:
    """Turn rows whose number already belongs to a resident ({phone: pseudonym}) into errors.

    A roster never changes an existing resident: what they gave and agreed to themselves stands, and
    no one is invited twice. The organizer sees who it is and removes the row (or edits by hand)."""
    clashes = [r for r in roster.records if r.phone in registered]
    if not clashes:
        return roster
    errors = [
        RowError(
            r.row,
            "phone",
            N_("already registered as resident %(resident)s"),
            {"resident": registered[r.phone]},
        )
        for r in clashes
    ]
    records = tuple(r for r in roster.records if r.phone not in registered)
    merged = sorted(
        (*roster.errors, *errors), key=lambda e: (e.row, COLUMNS.index(e.field) if e.field in COLUMNS else 99)
    )
    return Roster(records, tuple(merged), roster.sha256)


# --- the export -----------------------------------------------------------------------------------


def write_csv(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, safe_columns: Iterable[str] = ()
) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. Columns named in
    `safe_columns` hold values the system made (phone numbers, dates) and are written as they are."""
    keep = {header.index(name) for name in safe_columns}
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([value if i in keep else safe_cell(value) for i, value in enumerate(row)])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
