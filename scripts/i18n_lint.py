"""`i18n.py lint`: English a reader would see that is not in the catalogue, in page and mail templates (Jinja's
lexer: text outside `{% trans %}` and `_()`, the attributes people read, prose string literals in expressions)
and scripts (literals written to the page, to dialogs, or as text of dom.js's `el`). Prints file:line each."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from jinja2 import Environment

NOT_TEXT_BLOCKS = {"page", "scope"}  # base.html puts these blocks in attributes: names, not prose
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext", "N_", "t", "tn"}
READ_ATTRIBUTES = re.compile(r"""\b(placeholder|title|aria-label|alt)\s*=\s*"([^"]*)\"""")
ALLOWED_WORDS = re.compile(r"\bNixFlow\b|&[#\w]+;")  # the product's name, HTML entities
PROSE = re.compile(r"^(?=.*[A-Za-z])(?:[A-Z][a-z]|.*[A-Za-z]\s+[A-Za-z])")  # Capitalised, or words with a space
RAW = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->", re.S)

_STRING = r"""(["'`])((?:\\.|(?!\1).)*)\1"""
SCRIPT_SINKS = [
    re.compile(r"\.(?:textContent|innerText|title|placeholder)\s*=\s*" + _STRING),
    re.compile(r"""setAttribute\(\s*["'](?:aria-label|title|placeholder|alt)["']\s*,\s*""" + _STRING),
    re.compile(r"\b(?:alert|confirm|prompt)\(\s*" + _STRING),
    re.compile(r"""(?:\btitle|\bplaceholder|\balt|["']aria-label["'])\s*:\s*""" + _STRING),
    re.compile(r"""\bel\(\s*["'][\w-]+["']\s*,\s*(?:\{[^{}]*\}|null|undefined)\s*,\s*""" + _STRING),
]


def _visible(text: str) -> bool:
    """Whether text has a letter a reader sees (after the product name, entities and template holes)."""
    return bool(re.search(r"[A-Za-z]", ALLOWED_WORDS.sub("", re.sub(r"\$\{[^}]*\}|\{\}", "", text))))


class _TemplateScan:
    """Walks one template's tokens, tracking `{% trans %}`, open calls and whether the text is inside a tag."""

    def __init__(self) -> None:
        self.in_trans = False
        self.skipping = False  # inside a block whose content is a name (NOT_TEXT_BLOCKS)
        self.in_tag = False
        self.tag = ""  # the current tag's text so far, with `{}` for each expression
        self.calls: list[str] = []
        self.previous: tuple[str, str] = ("", "")

    def data(self, line: int, text: str) -> Iterator[int]:
        if self.in_trans or self.skipping:
            return
        outside: dict[int, list[str]] = {}
        for char in RAW.sub(lambda m: "\n" * m.group(0).count("\n"), text):
            if self.in_tag:
                self.tag += char
                if char == ">":
                    self.in_tag = False
                    yield from (line for m in READ_ATTRIBUTES.finditer(self.tag) if _visible(m.group(2)))
            elif char == "<":
                self.in_tag, self.tag = True, "<"
            else:
                outside.setdefault(line, []).append(char)
            line += char == "\n"
        yield from (n for n, chars in outside.items() if _visible("".join(chars)))

    def token(self, line: int, kind: str, value: str) -> Iterator[int]:
        if kind == "name" and self.previous[0] == "block_begin":
            self.in_trans = value == "trans" or (self.in_trans and value != "endtrans")
            self.skipping = self.skipping and value != "endblock"
        elif kind == "name" and self.previous == ("name", "block"):
            self.skipping = value in NOT_TEXT_BLOCKS
        elif kind in ("variable_begin", "variable_end") and self.in_tag:
            self.tag += "{}" if kind == "variable_begin" else ""
        elif kind == "operator" and value == "(":
            self.calls.append(self.previous[1] if self.previous[0] == "name" else "")
        elif kind == "operator" and value == ")" and self.calls:
            self.calls.pop()
        elif kind == "string" and not self.in_trans and not (set(self.calls) & GETTEXT):
            if PROSE.match(value[1:-1]) and _visible(value[1:-1]):
                yield line
        if kind != "whitespace":
            self.previous = (kind, value)


def lint_template(path: Path, env: Environment) -> Iterator[int]:
    """The lines of a template with English outside the catalogue."""
    scan = _TemplateScan()
    for line, kind, value in env.lex(path.read_text(encoding="utf-8")):
        yield from scan.data(line, value) if kind == "data" else scan.token(line, kind, value)


def lint_script(path: Path) -> Iterator[int]:
    """The lines of a script writing an English literal to the page."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("//"):
            continue
        if any(_visible(m.group(2)) for sink in SCRIPT_SINKS for m in sink.finditer(line)):
            yield number


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".html", ".txt", ".js"))
        else:
            yield path


def lint_paths(paths: Iterable[Path]) -> int:
    """Print file:line of every finding; 1 when there is one."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    found = 0
    for path in _files(paths):
        lines = lint_script(path) if path.suffix == ".js" else lint_template(path, env)
        for line in sorted(set(lines)):
            print(f"{path}:{line}: English outside the catalogue")
            found += 1
    print(f"i18n lint: {found} findings")
    return 1 if found else 0
