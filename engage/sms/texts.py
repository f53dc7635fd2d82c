"""Message texts: templates under templates/sms/, rendered in the recipient's language, signed.

Texts are plain text (no HTML escaping) and translated through the same catalogues as the pages.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from engage import i18n
from engage.settings import ROOT

SMS_TEMPLATES = ROOT / "templates" / "sms"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(SMS_TEMPLATES),
        autoescape=False,  # noqa: S701 - SMS bodies are plain text, never HTML
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return environment


def render(name: str, locale: str, signature: str, **context: Any) -> str:
    """Render templates/sms/<name>.txt in `locale`, prefixed with the sender's signature."""
    with i18n.use_locale(locale):
        body = _environment().get_template(f"{name}.txt").render(**context).strip()
    return f"{signature}{body}"
