"""The English catalogue, translations/en/LC_MESSAGES/messages.po (message ids are Chinese).

  python scripts/po_fill.py todo               untranslated message ids, as JSON
  python scripts/po_fill.py apply FILE.json    write {msgid: english} into the catalogue
  python scripts/po_fill.py pending            fill still-empty ids from translations/pending-en.json
  python scripts/po_fill.py merge FILE.po      take FILE.po's translations for ids still empty here
  python scripts/po_fill.py check              placeholders, %-escapes and HTML tags agree
  python scripts/po_fill.py unwrapped          Chinese text in code and templates outside _()
  python scripts/po_fill.py unwrapped --punctuation   full-width punctuation outside _()

Run scripts/i18n.sh afterwards to compile (it runs `pending` and `check` itself).
translations/pending-en.json holds English for texts that code shows through `_(variable)`
but that no `_()`/`N_()` marks yet, so extraction misses them: once they are marked, the
next scripts/i18n.sh fills them in."""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations/en/LC_MESSAGES/messages.po"
PENDING = ROOT / "translations/pending-en.json"

# A %-conversion (what gettext fills in), a {name} field (str.format in JS or SMS), an HTML tag.
PERCENT = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|%")
BRACES = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^>]*>")
HAN = re.compile(r"[\u3400-\u9fff]")
FULL_WIDTH = re.compile(r"[\u3000-\u303f\uff00-\uffef]")  # 、。（）：，“” …
WRAPPERS = {"_", "_l", "N_", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext",
            "pgettext", "tr"}
CODE_DIRS = ("core", "offices", "staff", "hours", "booking", "hallqueue", "notify",
             "feedback", "scheduler")


def load():
    with PO.open("rb") as f:
        return read_po(f)


def save(catalog) -> None:
    with PO.open("wb") as f:
        write_po(f, catalog, width=100)


def translated(message) -> bool:
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return bool(message.string)


def fill(catalog, mapping: dict[str, str], only_empty: bool) -> int:
    count = 0
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or message.id not in mapping:
            continue
        if only_empty and translated(message):
            continue
        message.string = mapping[message.id]
        message.flags.discard("fuzzy")
        count += 1
    return count


def problems(catalog) -> list[str]:
    """Babel's own checks plus: the same %-conversions, {fields} and HTML tags on both sides,
    and no lone % in a template text (Jinja always applies % to _() results)."""
    found = []
    for message, errors in catalog.check():
        found += [f"{message.id!r}: {error}" for error in errors]
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string:
            continue
        source, english = message.id, message.string
        # gettext only applies % when given values; Jinja's _() always does.
        formatted = "python-format" in message.flags or any(
            file.startswith("templates/") for file, _line in message.locations)
        checks = (("placeholders", PERCENT), ("{fields}", BRACES)) if formatted else (
            ("{fields}", BRACES),)
        for name, pattern in checks:
            if Counter(pattern.findall(source)) != Counter(pattern.findall(english)):
                found.append(f"{source!r}: {name} differ: {english!r}")
        if Counter(TAG.findall(source)) != Counter(TAG.findall(english)):
            found.append(f"{source!r}: HTML tags differ: {english!r}")
        if HAN.search(english):
            found.append(f"{source!r}: the English still has Chinese: {english!r}")
    return found


# --- Chinese outside _() ------------------------------------------------------------------

def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else ""


def python_literals(path: Path) -> list[tuple[int, str]]:
    """CJK string constants not inside a translation call (docstrings and log calls skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = {node.body[0].value for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef
                                | ast.ClassDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    hits = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and HAN.search(node.value)) or node in docstrings:
            continue
        child, parent, skip = node, parents.get(node), False
        while parent is not None and not skip:
            if isinstance(parent, ast.Call):
                name = _call_name(parent)
                skip = (name in WRAPPERS and parent.args[:1] == [child]) or name in {
                    "debug", "info", "warning", "error", "exception", "critical"}
            child, parent = parent, parents.get(parent)
        if not skip:
            hits.append((node.lineno, node.value))
    return hits


def template_literals(path: Path, pattern: re.Pattern = HAN) -> list[tuple[int, str]]:
    """Chinese (or `pattern`) in a template's HTML or an expression's string, outside _()."""
    from jinja2 import Environment, nodes

    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(path.read_text(encoding="utf-8"))
    hits = []

    def walk(node, wrapped: bool) -> None:
        if isinstance(node, nodes.TemplateData):
            match = pattern.search(node.data)
            if match:
                line = node.lineno + node.data[:match.start()].count("\n")
                hits.append((line, node.data.strip()))
        elif isinstance(node, nodes.Const):
            if isinstance(node.value, str) and pattern.search(node.value) and not wrapped:
                hits.append((node.lineno, node.value))
        elif (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
              and node.node.name in WRAPPERS):
            for index, argument in enumerate(node.args):
                walk(argument, index == 0)
            for keyword in node.kwargs:
                walk(keyword, False)
        else:
            for child in node.iter_child_nodes():
                walk(child, False)

    walk(tree, False)
    return hits


def unwrapped() -> dict[str, list[tuple[str, int, str]]]:
    """{owner: [(file, line, text)]}: owner is the package, or templates/<package>."""
    found: dict[str, list] = {}
    for package in CODE_DIRS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in python_literals(path):
                found.setdefault(package, []).append(
                    (str(path.relative_to(ROOT)), line, text))
    for path in sorted((ROOT / "templates").rglob("*.html")):
        parts = path.relative_to(ROOT / "templates").parts
        owner = "templates/" + (parts[0] if len(parts) > 1 else "(top level)")
        for line, text in template_literals(path):
            found.setdefault(owner, []).append((str(path.relative_to(ROOT)), line, text))
    return found


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "todo":
        todo = [m.id for m in load() if m.id and not translated(m)]
        print(json.dumps(todo, ensure_ascii=False, indent=0))
    elif command in ("apply", "pending"):
        source = Path(sys.argv[2]) if command == "apply" else PENDING
        catalog = load()
        count = fill(catalog, json.loads(source.read_text(encoding="utf-8")),
                     only_empty=command == "pending")
        save(catalog)
        print(f"{count} translations written from {source.name}")
    elif command == "merge":
        with Path(sys.argv[2]).open("rb") as f:
            other = read_po(f)
        mapping = {m.id: m.string for m in other
                   if m.id and not isinstance(m.id, tuple) and m.string and not m.fuzzy}
        catalog = load()
        count = fill(catalog, mapping, only_empty=True)
        save(catalog)
        print(f"{count} translations taken from {sys.argv[2]}")
    elif command == "check":
        found = problems(load())
        print("\n".join(found) or "catalogue ok")
        sys.exit(1 if found else 0)
    elif command == "unwrapped" and sys.argv[2:] == ["--punctuation"]:
        for path in sorted((ROOT / "templates").rglob("*.html")):
            lines = sorted({line for line, _text in template_literals(path, FULL_WIDTH)})
            if lines:
                print(f"{path.relative_to(ROOT)}: lines {', '.join(map(str, lines))}")
    elif command == "unwrapped":
        catalog_ids = {m.id for m in load() if m.id}
        for owner, hits in unwrapped().items():
            print(f"== {owner} ({len(hits)})")
            for file, line, text in hits:
                mark = "in catalogue" if text in catalog_ids else ""
                print(f"{file}:{line}\t{text[:70]!r}\t{mark}")
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
