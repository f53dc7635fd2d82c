"""Invariants over generated inputs: a notice period closes after it opens, whatever the publication
moment and the calendar; every stored state has exactly one label, distinct from its siblings'; every
link in a text starts with PUBLIC_BASE_URL, which follows PORT when it is not set."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engage.calendar import WorkingCalendar
from engage.i18n import translated, use_locale
from engage.keys import Purpose
from engage.notices import fanout
from engage.notices.objections.models import ObjectionStatus
from engage.notices.objections.web.public import STATE_LABELS, STATUS_LABELS
from engage.notices.period import PeriodState, calendar_for
from engage.panels.models import MemberStatus, PanelStatus
from engage.panels.seats import links as panel_links
from engage.panels.web.organizer import (
    MEMBER_STATUS_LABELS,
    PANEL_STATUS_LABELS,
    member_status_label,
    panel_status_label,
)
from engage.selections import labels, services
from engage.selections.models import ApplicantStatus, SelectionStatus, StageStatus
from engage.selections.stages import assessment as balloting
from engage.selections.stages import outcome
from engage.settings import load_settings

YEARS = frozenset({2025, 2026, 2027, 2028})
ZONES = ["Asia/Shanghai", "Asia/Urumqi", "UTC", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]

days_in_years = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    """Any calendar: holidays on any days (weekdays or not), swapped working days on any days, any zone
    and any closing time of day, midnight and the last minute included."""
    return WorkingCalendar(
        holidays=frozenset(draw(st.lists(days_in_years, max_size=120))),
        workdays=frozenset(draw(st.lists(days_in_years, max_size=20))),
        years=YEARS,
        tz=ZoneInfo(draw(st.sampled_from(ZONES))),
        close_at=draw(st.times(min_value=time(0, 0), max_value=time(23, 59))),
    )


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars(), published=moments, days=st.integers(min_value=1, max_value=60))
def test_a_period_closes_after_it_opens_for_any_moment_and_calendar(
    calendar: WorkingCalendar, published: datetime, days: int
) -> None:
    closes = calendar.add_working_days(published, days)
    assert closes > published
    local = closes.astimezone(calendar.tz)
    assert local.time() == calendar.close_at and calendar.is_working_day(local.date())
    # An extension counts on from the current close: it never moves the close back.
    assert calendar.add_working_days(closes, 1) > closes


@settings(max_examples=100, deadline=None)
@given(
    published=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)
    )
)
def test_an_appointment_notice_closes_after_its_publication_on_the_bundled_calendar(
    published: datetime,
) -> None:
    configured = load_settings({})
    closes = services.appointment_period_closes(configured, published)
    assert closes > published and closes == calendar_for(configured).add_working_days(published, 5)
    shown = outcome.local_moment(closes, configured)
    assert shown.endswith(" 17:30") and shown[:10] >= published.astimezone(configured.tz).date().isoformat()


# Every state machine whose states pages show, with its table of words.
MACHINES: list[tuple[type[StrEnum], dict[str, str]]] = [
    (PanelStatus, PANEL_STATUS_LABELS),
    (MemberStatus, MEMBER_STATUS_LABELS),
    (SelectionStatus, labels.SELECTION_STATUS_LABELS),
    (StageStatus, labels.STAGE_STATUS_LABELS),
    (ApplicantStatus, labels.APPLICANT_STATUS_LABELS),
    (ObjectionStatus, STATUS_LABELS),
    (PeriodState, STATE_LABELS),
]


def test_every_state_has_one_label_and_no_two_states_of_a_machine_share_one() -> None:
    for machine, table in MACHINES:
        assert set(table) == set(machine), machine.__name__
        for locale in ("en", "zh_CN"):
            words = [translated(table[state], locale) for state in machine]
            assert len(set(words)) == len(words), (machine.__name__, locale, words)
        for state in machine:  # a Chinese reader never meets the English source text
            assert translated(table[state], "zh_CN") != table[state], (machine.__name__, state)


SHOWN = {
    PanelStatus: panel_status_label,
    MemberStatus: member_status_label,
    SelectionStatus: labels.selection_status,
    StageStatus: labels.stage_status,
    ApplicantStatus: labels.applicant_status,
}


@given(
    machine=st.sampled_from(list(SHOWN)),
    data=st.data(),
    locale=st.sampled_from(["en", "zh_CN"]),
)
def test_the_label_shown_names_the_state_stored(
    machine: type[StrEnum], data: st.DataObject, locale: str
) -> None:
    state = data.draw(st.sampled_from(list(machine)))
    table = dict(MACHINES)[machine]
    with use_locale(locale):
        shown = SHOWN[machine](state.value)
    assert shown == translated(table[state], locale)
    # Read back: the words name this state and no other state of the same machine.
    assert [s for s in machine if translated(table[s], locale) == shown] == [state]


def test_a_drawn_panel_and_a_drawn_member_read_differently() -> None:
    with use_locale("zh_CN"):
        assert panel_status_label("drawn") != member_status_label("drawn")
        assert "未邀请" not in panel_status_label("drawn")


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
bases = st.builds(
    lambda scheme, host, port, prefix: f"{scheme}://{host}{port}{prefix}",
    st.sampled_from(["http", "https"]),
    hosts,
    st.sampled_from(["", ":8443", ":18801"]),
    st.sampled_from(["", "/engage", "/engage/"]),
)
URL = re.compile(r"https?://[^\s，。；：）]+")


def link_texts(configured_base: str, port: int | None) -> tuple[str, list[str]]:
    # ENGAGE_ENV given: an https base URL without it is refused (docs/security.md)
    environ = {"ENGAGE_ENV": "dev", **({"PUBLIC_BASE_URL": configured_base} if configured_base else {})}
    if port is not None:
        environ["PORT"] = str(port)
    configured = load_settings(environ)
    from engage.sms.texts import render

    texts = [
        outcome.selection_link(configured, 7),
        fanout.notice_link(configured, 7),
        balloting.link(configured, "b", "tok"),
        panel_links.link(configured.public_base_url, configured.key(Purpose.PERSONAL_LINK), 7),
        *(
            text
            for zh, en in outcome.appointment_bodies(
                [("王", "岗位", "Post")], "2026-12-11 17:30", outcome.selection_link(configured, 7)
            )
            for text in (zh, en)
        ),
        render(
            "roster_invite",
            "zh_CN",
            "",
            resident_name="王",
            participant_type="expert",
            url=f"{configured.public_base_url}/join",
        ),
    ]
    return configured.public_base_url, texts


@pytest.mark.slow
@given(base=bases)
def test_every_link_in_a_text_starts_with_the_public_base_url(base: str) -> None:
    public, texts = link_texts(base, None)
    assert public == base.rstrip("/")
    for text in texts:
        for url in URL.findall(text):
            assert url.startswith(public + "/"), (url, public)


@given(port=st.integers(min_value=1, max_value=65535))
def test_unset_the_public_base_url_follows_port(port: int) -> None:
    public, texts = link_texts("", port)
    assert public == f"http://127.0.0.1:{port}"
    assert all(url.startswith(public + "/") for text in texts for url in URL.findall(text))
    # Set, it wins over PORT: a proxy in front serves the public address.
    assert link_texts("https://engage.example.gov.cn", port)[0] == "https://engage.example.gov.cn"
