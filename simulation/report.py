"""The comparison report: one self-contained HTML page (figures as base64 data URIs, inline CSS, no
scripts, nothing fetched), readable offline and printable.

Sections: the headlines (one sentence per key indicator and expected effect, per scenario, the benchmark
gap first); the scenarios and their descriptions; what each changes relative to the reference (in plain
words from the schema, the dotted paths in a details block); the overlay figures, each with the
paired difference over time beside it; the difference table with its pairing said in words; the provenance
of every run.

Every value that comes from a run folder or a scenario (names, descriptions, seeds, replicates, event notes,
parameter paths and values, versions, commands) goes through ``html.escape``: no file can put markup or a
script in the page.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .compare import LAST_MONTHS, format_value, headlines, interval_note, num, plain_changes, span

if TYPE_CHECKING:
    from .compare import Changes, Comparison, Headline

CSS = """
:root { --ink: #1a1a1a; --grey: #555; --rule: #d0d0d0; --warn: #8a3b00; --warn-bg: #fff3e6; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 1.9em; margin: 0 0 .2em; }
h2 { font-size: 1.4em; margin: 1.8em 0 .5em; padding-bottom: .2em; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.1em; margin: 1.3em 0 .4em; }
p.meta, .note, figcaption { color: var(--grey); }
nav ol { columns: 2; padding-left: 1.2em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; font-size: .95em; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { border-bottom: 2px solid var(--ink); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-size: .92em; background: #f3f3f3; padding: 0 .25em; border-radius: 3px; word-break: break-all; }
.swatch { display: inline-block; width: 1.6em; height: .35em; vertical-align: middle; margin-right: .4em;
          -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.warn { background: var(--warn-bg); color: var(--warn); border-left: 4px solid var(--warn);
        padding: .4em .8em; font-weight: 600; }
.paired { border-left: 4px solid #009E73; padding: .4em .8em; background: #eef8f4; }
figure { margin: 1.2em 0 2em; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
ul.changes li { margin: .15em 0; }
details { margin: .2em 0 1em; } details summary { color: var(--grey); cursor: pointer; }
ul.headlines li { margin: .3em 0; }
ul.headlines li.expected { font-weight: 600; }
div.differences { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 1em; }
div.differences figure { margin-top: 0; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .3em 0 1em; }
dl.prov dt { color: var(--grey); }
dl.prov dd { margin: 0; }
@page { margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  figure, tr, .warn, .paired, dl.prov { break-inside: avoid; }
  h2, h3, .warn, .paired { break-after: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
}
"""


def render(
    comparison: Comparison,
    plots: Sequence[Path],
    manifest: dict[str, Any],
    found: dict[str, list[Headline]] | None = None,
) -> str:
    """The whole report as one HTML string (``found``: the headlines, computed if not given)."""
    ref = comparison.reference.label
    names = ", ".join(c.label for c in comparison.runs)
    found = headlines(comparison) if found is None else found
    sections = [
        ("headlines", f"Headlines: each scenario against {ref}", headlines_section(comparison, found)),
        ("scenarios", "Scenarios", scenarios_section(comparison)),
        ("changes", f"What each scenario changes relative to {ref}", changes_section(comparison)),
        ("figures", "Figures", figures_section(plots, found)),
        ("differences", f"Differences from {ref}", differences_section(comparison)),
        ("provenance", "Provenance", provenance_section(comparison, manifest)),
    ]
    toc = "".join(f'<li><a href="#{key}">{escape(title)}</a></li>' for key, title, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{escape(title)}</h2>{html}</section>' for key, title, html in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Comparison: {escape(names)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Comparing scenarios: {escape(names)}</h1>"
        f'<p class="meta">Reference: <strong>{escape(ref)}</strong>. Compared over {escape(comparison.window)}. '
        f"Created {escape(str(manifest.get('created_utc', '')))} (UTC).</p></header>"
        f"<nav><ol>{toc}</ol></nav>{body}"
        '<footer><p class="note">Files beside this report: differences.csv and differences.md (the table), '
        "differences_by_replicate.csv (paired differences replicate by replicate), comparison.json "
        "(what was compared), plots/ (the figures as PNG).</p></footer></body></html>\n"
    )


def swatch(comparison: Comparison, label: str) -> str:
    from .plotting import scenario_style

    i = next(i for i, c in enumerate(comparison.runs) if c.label == label)
    colour, _ = scenario_style(i)
    return f'<span class="swatch" style="background:{colour}"></span>'


def scenarios_section(comparison: Comparison) -> str:
    rows = []
    for c in comparison.runs:
        start, months = span(c.run)
        role = " (reference)" if c is comparison.reference else ""
        description = c.run.scenario.get("description") or "(no description)"
        rows.append(
            f"<tr><td>{swatch(comparison, c.label)}<strong>{escape(c.label)}</strong>{role}</td>"
            f"<td>{escape(str(description))}</td><td>{escape(f'{months} months from {start}')}</td>"
            f'<td class="n">{escape(str(c.run.manifest.get("replicates")))}</td>'
            f'<td class="n">{escape(str(c.run.manifest.get("seed")))}</td></tr>'
        )
    return (
        "<table><thead><tr><th>Scenario</th><th>Description</th><th>Period run</th>"
        '<th class="n">Replicates</th><th class="n">Seed</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def changes_section(comparison: Comparison) -> str:
    """Per scenario: what it changes in plain words (from the schema's descriptions and units), with the
    dotted parameter paths and values in a details block; then parameters held instead of drawn."""
    ref = comparison.reference.label
    parts = [
        f'<p class="note">Each scenario as run against {escape(ref)}: the parameters, labs and events it '
        "changes, in the words of the scenario schema (value in the reference &rarr; value in the scenario). "
        "Open the details for the dotted parameter paths. Names, descriptions and expected effects are left "
        "out.</p>"
    ]
    runs = {c.label: c for c in comparison.runs}
    for label, changes in comparison.changes.items():
        plain = plain_changes(changes, runs[label].run.scenario)
        listed = "".join(f"<li>{escape(line)}</li>" for line in plain)
        body = (
            f'<ul class="changes plain">{listed}</ul>'
            f"<details><summary>As dotted parameter paths</summary>{changes_list(changes)}</details>"
            if changes
            else changes_list(changes)
        )
        parts.append(f"<h3>{swatch(comparison, label)}{escape(label)}</h3>{body}")
    pinned = [(c.label, pinned_paths(c.run.manifest)) for c in comparison.runs]
    if any(paths for _, paths in pinned):
        items = "".join(f"<li>{escape(label)}: {pinned_text(paths)}</li>" for label, paths in pinned if paths)
        parts.append(
            "<h3>Set explicitly, not drawn</h3>"
            '<p class="note">Parameters a distribution would have drawn in every replicate, held at the value '
            "given instead (an override, a sweep, a lever or a file that extends another):</p>"
            f'<ul class="changes">{items}</ul>'
        )
    return "".join(parts)


def pinned_paths(manifest: dict[str, Any]) -> list[str]:
    """The parameters a run set explicitly instead of drawing them (``pinned`` in its manifest)."""
    return [str(p) for p in manifest.get("pinned") or []]


def pinned_text(paths: Sequence[str]) -> str:
    if not paths:
        return "none (every uncertain parameter was drawn)"
    return "set explicitly, not drawn: " + ", ".join(f"<code>{escape(p)}</code>" for p in paths)


def changes_list(changes: Changes) -> str:
    if not changes:
        return '<p class="note">No differences in parameters, labs or events.</p>'
    items = [
        f"<li><code>{escape(path)}</code>: {escape(format_value(a))} &rarr; {escape(format_value(b))}</li>"
        for path, a, b in changes.values
    ]
    items += [f"<li>Lab added: <code>{escape(lab)}</code></li>" for lab in changes.labs_added]
    items += [f"<li>Lab removed: <code>{escape(lab)}</code></li>" for lab in changes.labs_removed]
    items += [f"<li>Event added: {escape(e)}</li>" for e in changes.events_added]
    items += [f"<li>Event removed: {escape(e)}</li>" for e in changes.events_removed]
    return f'<ul class="changes">{"".join(items)}</ul>'


def headlines_section(comparison: Comparison, found: dict[str, list[Headline]]) -> str:
    """One list per scenario: a sentence per metric, the benchmark gap first, then the expected effects."""
    parts = [
        '<p class="note">Effect of each scenario: the mean over replicates of (scenario minus reference) of '
        "each metric averaged over a window, with a 90% interval when the runs are paired (same seeds); "
        "shares in percentage points. First the gap on benchmark scores, the one a reader can check against "
        "Epoch AI's ECI data; then the metrics the scenario names in its expected effects (bold), each "
        "averaged from the month the scenario gives for it (default: its first event); then the other key "
        f"indicators, averaged over the last {LAST_MONTHS} months compared (from the first event if later). "
        "The gap on true capability is the benchmark gap without each lab's benchmark focus, an assumption: "
        "read it as depending on that assumption.</p>"
    ]
    for label, rows in found.items():
        items = "".join(
            f'<li class="{"expected" if h.expected else "key"}" data-metric="{escape(h.metric)}" '
            f'data-window="{escape(h.window)}">'
            f"{escape(h.text)}</li>"
            for h in rows
        )
        parts.append(
            f"<h3>{swatch(comparison, label)}{escape(label)} against {escape(comparison.reference.label)}</h3>"
            f'<ul class="headlines">{items}</ul>'
        )
    return "".join(parts)


def figure_html(path: Path, title: str, kind: str = "overlay") -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure class="{kind}"><img src="data:image/png;base64,{data}" alt="{escape(title)}">'
        f"<figcaption>{escape(title)} (plots/{escape(path.name)})</figcaption></figure>"
    )


DIFFERENCE_PREFIX = "difference_"


def figures_section(plots: Sequence[Path], found: dict[str, list[Headline]] | None = None) -> str:
    """The overlay figures, each followed by the paired-difference charts of the metrics it shows; the
    charts of other headline metrics (expected effects) after them."""
    from .plotting import overlays

    meanings = {h.metric: h.meaning for rows in (found or {}).values() for h in rows}
    differences = {p.stem[len(DIFFERENCE_PREFIX) :]: p for p in plots if p.name.startswith(DIFFERENCE_PREFIX)}
    per_bloc = ("open_usage_share_origin_", "labs_alive_")  # a bloc's chart goes beside its overlay
    blocs = [m[len(pre) :] for m in differences for pre in per_bloc if m.startswith(pre)]
    overlay_list = overlays(list(dict.fromkeys(blocs)))
    titles = {o.filename: o.title for o in overlay_list}
    panels = {o.filename: [column for column, _ in o.panels] for o in overlay_list}

    def difference(metric: str) -> str:
        title = f"Paired difference over time: {meanings.get(metric, metric)} ({metric})"
        return figure_html(differences.pop(metric), title, "difference")

    figures = []
    for path in plots:
        if path.name.startswith(DIFFERENCE_PREFIX):
            continue
        figures.append(figure_html(path, titles.get(path.name, path.stem.replace("_", " "))))
        beside = [difference(m) for m in panels.get(path.name, []) if m in differences]
        if beside:
            figures.append(f'<div class="differences">{"".join(beside)}</div>')
    rest = [difference(m) for m in list(differences)]
    if rest:
        figures.append(
            '<h3>Paired differences of the expected effects</h3><div class="differences">'
            + "".join(rest)
            + "</div>"
        )
    return "".join(figures)


def differences_section(comparison: Comparison) -> str:
    ref = comparison.reference.label
    parts = [
        f'<p class="note">Key indicators over {escape(comparison.window)}: values at the last month '
        "compared, or averages over the period where the label says so. Shares in %, their differences in "
        "percentage points.</p>"
    ]
    table = comparison.differences
    for label, rows in table.groupby("scenario", sort=False):
        pairing = comparison.pairing[str(label)]
        box = "paired" if pairing.paired else "warn"
        parts.append(
            f"<h3>{swatch(comparison, str(label))}{escape(str(label))} minus {escape(ref)}</h3>"
            f'<p class="{box}">{escape(pairing.reason.capitalize())}. {escape(interval_note(pairing.paired))}</p>'
        )
        body = "".join(
            f"<tr><td>{escape(r.label)}</td><td>{escape(r.unit)}</td>"
            f'<td class="n">{num(r.reference_median)}</td><td class="n">{num(r.scenario_median)}</td>'
            f'<td class="n"><strong>{num(r.difference, sign=True)}</strong></td>'
            f'<td class="n">[{num(r.difference_p5, sign=True)}, {num(r.difference_p95, sign=True)}]</td></tr>'
            for r in rows.itertuples()
        )
        parts.append(
            "<table><thead><tr><th>Indicator</th><th>Unit</th>"
            f'<th class="n">{escape(ref)} (median)</th><th class="n">{escape(str(label))} (median)</th>'
            '<th class="n">Difference</th><th class="n">5%-95%</th></tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(parts)


def provenance_section(comparison: Comparison, manifest: dict[str, Any]) -> str:
    parts = []
    for c in comparison.runs:
        m = c.run.manifest
        git = m.get("git") or {}
        commit = git.get("commit") or "unknown (no git)"
        if git.get("dirty"):
            commit += " (with uncommitted changes)"
        versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
        wall = m.get("wall_time_s")
        fields = [
            ("Run folder", f"<code>{escape(str(c.run.path.resolve()))}</code>"),
            ("Seed", escape(str(m.get("seed")))),
            ("Replicates", escape(str(m.get("replicates")))),
            ("Period", escape(f"{m.get('months')} months from {m.get('start')}")),
            ("Adopters", escape(f"{m.get('adopters'):,}" if isinstance(m.get("adopters"), int) else "?")),
            ("Pinned parameters", pinned_text(pinned_paths(m))),
            ("Versions", escape(versions)),
            ("Git commit", f"<code>{escape(commit)}</code>"),
            ("Command", f"<code>{escape(str(m.get('command') or '(from Python)'))}</code>"),
            (
                "Created",
                escape(f"{m.get('created_utc')} (UTC)" + (f", {wall:.1f} s" if _is_number(wall) else "")),
            ),
        ]
        rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields)
        parts.append(f'<h3>{swatch(comparison, c.label)}{escape(c.label)}</h3><dl class="prov">{rows}</dl>')
    command = manifest.get("command") or "(from Python: simulation.compare)"
    parts.append(f'<p class="note">This comparison: <code>{escape(str(command))}</code>.</p>')
    return "".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
