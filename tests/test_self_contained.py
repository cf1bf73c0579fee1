"""The repository stands alone: a fresh clone has everything its files refer to.

- No text file points outside the repository: to the sibling folder the project was started from (its digest,
  seed articles, data and engineering notes), to an absolute path on a developer's machine, or, in Markdown,
  to a relative link that climbs above the repository's root.
- Every claim number cited anywhere (``F7``, ``(F12, F13)``, ``F12-F14``) is defined in ``docs/claims.md``.
- Every file in ``data/`` is described in ``data/README.md``.

Files are those git knows (tracked, plus untracked ones not ignored), or, without git, a walk of the tree.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()
CLAIMS = ROOT / "docs" / "claims.md"
DATA = ROOT / "data"

# folders never scanned when walking the tree without git (git's own ignore rules cover them otherwise)
SKIP_DIRS = {
    ".git", "outputs", "test-artifacts", "build", "dist", "node_modules", "venv", "env", "__pycache__",
    ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis", ".benchmarks", ".tox", ".nox",
}  # fmt: skip

# The patterns are assembled from pieces so that this file does not match them itself (it is also skipped).
_SH = "sha" + "red"
_UP = r"\.\./"
OUTSIDE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("path into the sibling source folder", re.compile(r"(?<![\w.-])(?:" + _UP + r")+" + _SH + r"\b")),
    (
        "path into the sibling source folder",
        re.compile(r"(?<![\w/.-])" + _SH + r"/(?:domain\.md|data\b|seeds\b|engineering-notes|hooks\b)"),
    ),
    (
        "absolute path on a developer's machine",
        re.compile(r"(?<![\w.:/~-])/(?:" + "work|home|Users|root" + r")/"),
    ),
]

# Markdown link targets: [text](target), [label]: target, and href/src attributes
MD_LINKS = [
    re.compile(r"\]\(\s*<?([^)\s>]+)"),
    re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)"),
    re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']"""),
]
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

# a claim number, optionally the end of a range: F7, F12-F14, F5–F7
CLAIM_CITE = re.compile(r"\bF(\d{1,3})\b(?:\s*[-–]\s*F(\d{1,3})\b)?")
CLAIM_HEADING = re.compile(r"^#{2,4}\s+F(\d{1,3})\b", re.MULTILINE)


def repo_files() -> list[str]:
    """Paths (relative, POSIX) of the repository's files: git's view if available, else a walk."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [
                d
                for d in dirs
                if d not in SKIP_DIRS and not d.startswith(".venv") and not d.endswith(".egg-info")
            ]
            rel = Path(folder).relative_to(ROOT)
            names.extend((rel / f).as_posix() for f in files)
    return sorted(n for n in set(names) if (ROOT / n).is_file())


def read_text(rel: str) -> str | None:
    """The file's text, or None for a binary or non-UTF-8 file."""
    data = (ROOT / rel).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files() -> dict[str, str]:
    files = {}
    for rel in repo_files():
        if rel == THIS:
            continue
        text = read_text(rel)
        if text is not None:
            files[rel] = text
    return files


def outside_references(rel: str, text: str) -> list[str]:
    """``file:line: what: the line`` for each reference out of the repository in one file."""
    hits = []
    is_markdown = rel.lower().endswith((".md", ".markdown"))
    folder = posixpath.dirname(rel)
    for number, line in enumerate(text.splitlines(), 1):
        found = [what for what, pattern in OUTSIDE_PATTERNS if pattern.search(line)]
        if is_markdown:
            for pattern in MD_LINKS:
                for match in pattern.finditer(line):
                    target = match.group(1).split("#", 1)[0].split("?", 1)[0]
                    if not target or target.startswith("/") or URL_SCHEME.match(target):
                        continue
                    resolved = posixpath.normpath(posixpath.join(folder, target))
                    if resolved == ".." or resolved.startswith("../"):
                        found.append(f"Markdown link out of the repository ({target})")
        hits.extend(f"{rel}:{number}: {what}: {line.strip()[:160]}" for what in dict.fromkeys(found))
    return hits


def cited_claims(text: str) -> set[int]:
    cited = set()
    for match in CLAIM_CITE.finditer(text):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        cited.update(range(min(first, last), max(first, last) + 1))
    return cited


def defined_claims() -> list[int]:
    return [int(n) for n in CLAIM_HEADING.findall(CLAIMS.read_text(encoding="utf-8"))]


# -- the scanner itself ----------------------------------------------------------------------------------


def test_scanner_flags_references_out_of_the_repository() -> None:
    bad = {
        "docs/a.md": [
            "see `" + "../" + _SH + "/domain.md`",
            "data in " + _SH + "/data/x.csv",
            "digest: " + _SH + "/domain.md",
            "notes in " + _SH + "/engineering-notes.md",
            "cd " + "/work" + "/main",
            "[notes](../../elsewhere.md)",
            "[ref]: ../../x.md",
        ],
        "scenarios/b.yaml": ["# from " + _SH + "/seeds/000.txt", "path: " + "/home" + "/me/x"],
    }
    for rel, lines in bad.items():
        for line in lines:
            assert outside_references(rel, line), (rel, line)


def test_scanner_leaves_ordinary_text_alone() -> None:
    good = {
        "docs/a.md": [
            "[parameters](parameters.md), [readme](../README.md#data), [data](../data/README.md)",
            "[site](https://example.org/work/x), [mail](mailto:a@b.c), [top](#section)",
            "the " + _SH + " VM's speed drifts; seeds " + _SH + " by all scenarios",
            "(`../x`, `/tmp/x` or `a/b` are refused)",
        ],
        "tests/t.py": ['out = tmp_path / "' + _SH + '"', '"../outside.yaml"', "[x](../../not-markdown)"],
    }
    for rel, lines in good.items():
        for line in lines:
            assert not outside_references(rel, line), (rel, line)


def test_claim_citations_are_parsed_with_ranges() -> None:
    assert cited_claims("(F5, F7) and F12-F14; F1–F3. F19") == {1, 2, 3, 5, 7, 12, 13, 14, 19}
    assert cited_claims("0xF1 OF12 F12a") == set()


# -- the repository ----------------------------------------------------------------------------------------


def test_no_file_refers_outside_the_repository() -> None:
    hits = "\n".join(hit for rel, text in text_files().items() for hit in outside_references(rel, text))
    assert not hits, f"references out of the repository (use docs/claims.md or data/<file>):\n{hits}"


def test_claims_page_defines_f1_to_fn_in_order_each_with_a_source() -> None:
    numbers = defined_claims()
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert len(numbers) >= 19
    sections = re.split(r"^#{2,4}\s+F\d+\b", CLAIMS.read_text(encoding="utf-8"), flags=re.MULTILINE)[1:]
    assert len(sections) == len(numbers)
    missing = [
        f"F{n}"
        for n, body in zip(numbers, sections, strict=True)
        if "Source" not in body or "In the model" not in body
    ]
    assert not missing, f"claims without a source or a use in the model: {missing}"


def test_every_cited_claim_is_defined() -> None:
    defined = set(defined_claims())
    undefined = []
    for rel, text in text_files().items():
        if rel.startswith("data/") and rel != "data/README.md":  # third-party data, not citations
            continue
        for number, line in enumerate(text.splitlines(), 1):
            missing = sorted(cited_claims(line) - defined)
            if missing:
                undefined.append(f"{rel}:{number}: F{', F'.join(map(str, missing))}: {line.strip()[:120]}")
    assert not undefined, "claim numbers not defined in docs/claims.md:\n" + "\n".join(undefined)


def test_every_data_file_is_described() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    files = sorted(
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
    )
    assert files, "data/ holds no data files"
    undescribed = [f for f in files if f"`{f}`" not in readme]
    assert not undescribed, f"data files not described in data/README.md: {undescribed}"
    named = set(re.findall(r"`([\w.-]+\.(?:csv|json|parquet|tsv|txt|xlsx))`", readme))  # names in data/
    absent = sorted(n for n in named if not (DATA / n).is_file())
    assert not absent, f"data/README.md describes files that are not in data/: {absent}"
