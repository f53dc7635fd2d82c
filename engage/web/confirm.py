"""The confirmation page in front of every irreversible step.

GET /organizer/<thing>/<id>/<action> renders `pages/organizer/confirm.html` from a `Confirmation`:
what the step does, to whom, how many texts at what cost, and what cannot be undone. Its form POSTs
(with the CSRF token) to the same address; that handler performs the step, calls `flash()` with the
result and redirects (303) to the object's page."""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar.response import Template


@dataclass(frozen=True)
class Confirmation:
    title: str  # the question, e.g. "Publish notice 12?"
    button: str  # the verb on the confirming button, e.g. "Publish"
    back: str  # where "Cancel" goes: the object's page
    consequences: list[str] = field(default_factory=list)  # one plain sentence each
    cannot_undo: str = ""  # what becomes final; empty when the step can be undone
    # A small table shown under the consequences (e.g. texts per language with their cost): a header
    # row, then rows of cells.
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    table_caption: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # hidden inputs carried to the POST
    action: str = ""  # the POST address; empty means the page's own address
    danger: bool = True  # a red button for steps that cannot be undone


def confirmation_page(confirmation: Confirmation, status_code: int = 200) -> Template:
    return Template(
        "pages/organizer/confirm.html", context={"confirm": confirmation}, status_code=status_code
    )
