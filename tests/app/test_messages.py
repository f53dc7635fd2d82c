"""`make messages` updates every domain's catalogue (engage.i18n.update_catalogues)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from engage.i18n import update_catalogues


def _write(path: Path, entries: dict[str, str], locale: str | None = "zh_CN") -> None:
    catalogue = Catalog(locale=locale)
    for key, value in entries.items():
        catalogue.add(key, value, locations=[("old.py", 1)])
    with path.open("wb") as handle:
        write_po(handle, catalogue)


def _read(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_new_texts_join_messages_po_and_every_file_is_refreshed(tmp_path: Path) -> None:
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    template = tmp_path / "messages.pot"
    catalogue = Catalog()
    for key in ("Notices", "Panels", "New text"):
        catalogue.add(key, locations=[("engage/x.py", 7)])
    with template.open("wb") as handle:
        write_po(handle, catalogue)
    _write(folder / "messages.po", {"Notices": "公告"})
    _write(folder / "panels.po", {"Panels": "评审团", "Gone from the code": "旧"})

    counts = update_catalogues(template, folder)

    assert counts == {"added": 1, "unused": 1, "untranslated": 0}
    assert _read(folder / "messages.po") == {"Notices": "公告", "New text": ""}
    assert _read(folder / "panels.po") == {"Panels": "评审团", "Gone from the code": "旧"}
    with (folder / "panels.po").open("rb") as handle:
        panels = read_po(handle)
    assert panels["Panels"].locations == [("engage/x.py", 7)]
