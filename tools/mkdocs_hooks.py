"""MkDocs hook: append the pages that `mkdocs.yml`'s `nav` does not name.

A page under `docs/` that is missing from the navigation would be a strict-mode
warning; instead it is listed at the end of the navigation, in a section named
after its folder (`course/a0.md` goes under "Course"), or under "More" for
top-level pages. The written `nav` keeps its order; nothing is removed.
"""

from pathlib import Path
from typing import Any


def _named(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*map(_named, nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*map(_named, nav.values())) if nav else set()
    return set()


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip().strip("`")
    return path.stem.replace("-", " ").capitalize()


def on_config(config: Any) -> Any:
    nav = config["nav"]
    if not nav:
        return config
    docs = Path(config["docs_dir"])
    named = _named(nav)
    excluded = {"assets"}
    sections: dict[str, list[dict[str, str]]] = {}
    for path in sorted(docs.rglob("*.md")):
        rel = path.relative_to(docs).as_posix()
        if rel in named or rel.split("/")[0] in excluded:
            continue
        folder = rel.split("/")[0] if "/" in rel else ""
        entry = {_title(path): rel}
        if folder and path.name == "index.md":
            sections.setdefault(folder, []).insert(0, entry)
        else:
            sections.setdefault(folder, []).append(entry)
    for folder, pages in sorted(sections.items()):
        title = folder.replace("-", " ").capitalize() if folder else "More"
        nav.append({title: pages})
    return config
