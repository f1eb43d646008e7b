"""Languages for developers and CI: `extract` the messages, `check` the shipped catalogues, `lint` for English
left outside them (docs/architecture.md, "Languages").

    python scripts/i18n.py extract [--out DIR]   server.pot (Python, pages, mail) and js.pot (web/static)
    python scripts/i18n.py check                 every extracted message translated in every language, no fuzzy
    python scripts/i18n.py lint [PATH ...]       user-visible English in templates and scripts (default: all)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po
from i18n_lint import lint_paths

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "nixflow"
LOCALE_DIR = PACKAGE / "locale"
LANGUAGES = ("de", "fr", "es", "ar")  # English is the message ids
BROWSER_AREA = "js"  # the one catalogue a page hands its scripts

JINJA = ("jinja2", {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "false"})
SERVER_MAP = [
    ("**/locale/**", "ignore"),
    ("**/web/static/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", JINJA[0]),
    ("**/templates/**.txt", JINJA[0]),
]
BROWSER_MAP = [("web/static/**.js", "javascript")]
BROWSER_KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "tn": (1, 2)}


def _extract(method_map: list[tuple[str, str]], keywords: dict[str, object]) -> Catalog:
    catalogue = Catalog(project="NixFlow", fuzzy=False)
    options = {pattern: JINJA[1] for pattern, method in method_map if method == JINJA[0]}
    for path, line, message, comments, context in extract_from_dir(
        PACKAGE, method_map, options, keywords=keywords, comment_tags=("Translators:",)  # type: ignore[arg-type]
    ):
        catalogue.add(message, None, [(path, line)], auto_comments=comments, context=context)
    return catalogue


def extracted() -> tuple[Catalog, Catalog]:
    """The server's messages (Python, page and mail templates) and the browser's (web/static)."""
    return _extract(SERVER_MAP, dict(DEFAULT_KEYWORDS)), _extract(BROWSER_MAP, BROWSER_KEYWORDS)


def extract(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for name, catalogue in zip(("server.pot", "js.pot"), extracted(), strict=True):
        with (out / name).open("wb") as stream:
            write_po(stream, catalogue, width=120)
        print(f"{out / name}: {len(catalogue)} messages")
    return 0


def _catalogues(language: str) -> Iterator[tuple[Path, Catalog]]:
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as stream:
            yield path, read_po(stream, locale=language)


def _key(message: Message) -> tuple[str, str | None]:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return msgid, message.context


def _problems(language: str, wanted: Iterable[Message], shipped: dict[tuple[str, str | None], Message]) -> Iterator[str]:
    forms = Catalog(locale=language).num_plurals
    for message in wanted:
        where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
        found = shipped.get(_key(message))
        if found is None or not found.string:
            yield f"{language}: untranslated {_key(message)[0]!r} ({where})"
        elif message.pluralizable and (isinstance(found.string, str) or len(found.string) != forms):
            yield f"{language}: {_key(message)[0]!r} needs {forms} plural forms ({where})"
        elif message.pluralizable and not all(found.string):
            yield f"{language}: {_key(message)[0]!r} has an empty plural form ({where})"


def check() -> int:
    server, browser = extracted()
    problems: list[str] = []
    for language in LANGUAGES:
        merged: dict[tuple[str, str | None], Message] = {}
        scripts: dict[tuple[str, str | None], Message] = {}
        for path, catalogue in _catalogues(language):
            for message in catalogue:
                if not message.id:
                    continue
                if message.fuzzy:
                    problems.append(f"{path}: fuzzy {_key(message)[0]!r}")
                    continue
                merged[_key(message)] = message
                if path.stem == BROWSER_AREA:
                    scripts[_key(message)] = message
        problems += _problems(language, (m for m in server if m.id), merged)
        problems += _problems(language, (m for m in browser if m.id), scripts)
    for problem in problems:
        print(problem)
    counted = f"{len([m for m in server if m.id])} server and {len([m for m in browser if m.id])} script messages"
    print(f"i18n check: {counted}, {len(LANGUAGES)} languages, {len(problems)} problems")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="i18n.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("extract").add_argument("--out", type=Path, default=ROOT / "build" / "i18n")
    commands.add_parser("check")
    commands.add_parser("lint").add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.command == "extract":
        return extract(args.out)
    if args.command == "check":
        return check()
    default = [PACKAGE / "web" / "templates", PACKAGE / "notifications" / "templates", PACKAGE / "web" / "static"]
    return lint_paths(args.paths or default)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
