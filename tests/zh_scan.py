"""What a Chinese reader should never meet on a zh-CN page: English words (outside names, numbers and
codes the reader needs), UTC ISO timestamps, ASCII punctuation against Chinese characters, and a
space after 。. Pure: page HTML in, problems out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
# Words a Chinese page may show as they are: the language switch, names of formats and standards a
# reader types or downloads, and the SMS keywords residents reply with.
ALLOWED_WORDS = {
    "English", "CSV", "JSON", "SMS", "PDF", "Excel", "UTF", "GBK", "SHA", "ID", "STOP", "TD", "JOIN",
    "HELP", "START", "OBJ", "API", "HTTPS", "URL", "Windows", "A", "B", "C", "D", "E", "Z",
}  # fmt: skip
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]00:?00)|\d{4}-\d\d-\d\dT\d\d:\d\d")
ASCII_BY_HAN = re.compile(rf"[{HAN}][,.:;!?]|[,:;!?][{HAN}]|[{HAN}]\(|\)[{HAN}]")
SPACE_AFTER_STOP = re.compile(r"[。，：；！？]\s+\S")
# "5个工作日", "共300位", "第2页": no space between a count and its measure word or the word before it.
# (Label and value pairs such as "专家 1/2" or "J10 居民" keep their separating space.)
SPACE_BY_NUMBER = re.compile(r"\d [个人位条天次分秒页行岁名项处份周]|[共第还剩约达计] \d")
# Addresses are shown as they are: links in texts, the organizer's own sign-in.
ADDRESS = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+")
# A Chinese sentence ends in 。, not in an ASCII full stop.
ASCII_STOP = re.compile(rf"[{HAN}].*[^.\s]\.$")
WORD = re.compile(r"[A-Za-z][A-Za-z_'-]*[A-Za-z]|[A-Za-z]")


class _Text(HTMLParser):
    """The text a reader sees or hears: element text and the attributes read aloud or shown."""

    SKIP = {"script", "style", "code", "pre", "kbd", "samp"}
    BLOCK = {
        "p", "div", "li", "td", "th", "tr", "h1", "h2", "h3", "h4", "dt", "dd", "section", "header", "footer",
        "nav", "ul", "ol", "dl", "table", "form", "label", "option", "button", "legend", "fieldset", "br",
        "main", "summary", "details", "select", "textarea", "title",
    }  # fmt: skip
    SPOKEN = ("aria-label", "title", "alt", "placeholder", "data-label")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.BLOCK:
            self.chunks.append("\n")
        foreign = (values.get("lang") or "zh").split("-")[0] != "zh" or "hash" in (values.get("class") or "")
        if tag in self.SKIP or foreign:
            self._skip.append(tag)
        if tag in ("input", "button") and values.get("type") in ("submit", "button"):
            self.chunks.append(values.get("value") or "")
        if not self._skip:
            self.chunks += ["\n" + (values[name] or "") + "\n" for name in self.SPOKEN if values.get(name)]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCK:
            self.chunks.append("\n")
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    lines = "".join(parser.chunks).split("\n")
    return [" ".join(line.split()) for line in lines if line.strip()]


def _is_code(token: str, line: str) -> bool:
    # Pseudonyms (r-9fe9…), references (OBJ-2026-0001), hashes and other tokens with digits in them.
    return bool(re.search(rf"[\w-]*{re.escape(token)}[\w-]*\d|\d[\w-]*{re.escape(token)}", line))


def problems(html: str) -> list[str]:
    found: list[str] = []
    for line in visible_text(html):
        words = ADDRESS.sub(" ", line)
        for word in WORD.findall(words):
            if word not in ALLOWED_WORDS and not _is_code(word, line):
                found.append(f"English word {word!r} in {line[:80]!r}")
        for match in ISO_UTC.finditer(line):
            found.append(f"ISO timestamp {match.group(0)!r} in {line[:80]!r}")
        for match in ASCII_BY_HAN.finditer(line):
            found.append(f"ASCII punctuation {match.group(0)!r} in {line[:80]!r}")
        if ASCII_STOP.search(line):
            found.append(f"ASCII full stop ending {line[-40:]!r}")
        for match in SPACE_AFTER_STOP.finditer(line):
            found.append(f"space after {match.group(0)[0]!r} in {line[:80]!r}")
        for match in SPACE_BY_NUMBER.finditer(line):
            found.append(f"space between Chinese and a number {match.group(0)!r} in {line[:80]!r}")
    return found
