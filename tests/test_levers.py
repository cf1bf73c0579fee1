"""The lever table (docs/levers.md) is what the current model gives, and every lever moves its stated
outcome beyond its paired interval, in the stated direction (capital levers both up and down), except the
levers listed in ``NOT_REPRODUCED``: findings against the lever's stated claim, each explained in
docs/model.md ("Findings: what the levers move")."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from simulation.levers import DEFAULTS, LEVERS, _fmt, fingerprint, lever_effects, mean_interval

PAGE = Path(__file__).resolve().parents[1] / "docs" / "levers.md"
ROW = re.compile(
    r"^\| (?P<label>[^|]+) \| (?P<scenario>\w+) \| `(?P<outcome>\w+)` \| (?P<effect>\S+) \| "
    r"\[(?P<lo>\S+), (?P<hi>\S+)\] \| (?P<expected>\w*) \| (?P<holds>[^|]*) \|$"
)


def rows() -> list[dict[str, str]]:
    return [m.groupdict() for line in PAGE.read_text().splitlines() if (m := ROW.match(line))]


def test_page_is_up_to_date():
    page = PAGE.read_text()
    assert f"Model fingerprint: `{fingerprint()}`" in page, (
        "the model or a shipped scenario changed: python run.py levers --markdown > docs/levers.md"
    )


# Levers whose stated outcome the current model does not move beyond its interval. A finding, kept in view:
# the test fails when one of these starts to hold again or another stops holding.
NOT_REPRODUCED = {
    # patron top-ups lengthen a surviving lab's runway, so it raises fewer rounds (docs/model.md)
    "Consortium tops up Mistral and TII: no -> $50M a month each",
}


def test_every_lever_moves_its_stated_outcome():
    stated = [r for r in rows() if r["expected"]]
    assert {r["label"].strip() for r in stated} == {lv.label for lv in LEVERS}
    failing = {
        r["label"].strip(): (r["outcome"], r["effect"], r["lo"], r["hi"])
        for r in stated
        if r["holds"].strip() != "yes"
    }
    assert set(failing) == NOT_REPRODUCED, failing
    by_label = {r["label"].strip(): r for r in stated}
    # capital has an upside as well as a downside (the build limit does not bind at the baseline's level)
    assert float(by_label["Chinese capital multiplier 0.2 -> 1"]["lo"]) > 0
    assert float(by_label["Chinese capital multiplier 1 -> 5"]["lo"]) > 0


def test_a_row_of_the_page_is_reproduced_exactly():
    """The page is not edited by hand: one lever rerun at the page's settings gives its printed numbers."""
    lever = next(lv for lv in LEVERS if lv.name == "deepseek_efficiency")
    table = lever_effects([lever], **DEFAULTS, jobs=2)
    printed = {r["outcome"]: r for r in rows() if r["label"].strip() == lever.label}
    for _, r in table.iterrows():
        assert printed[r["outcome"]]["effect"] == _fmt(r["effect"], sign=True), r["outcome"]
        assert printed[r["outcome"]]["lo"] == _fmt(r["ci5"], sign=True)


def test_mean_interval_by_hand():
    # mean 2, sd 1 (n = 4): half width = t(0.95, 3) x 1 / 2 = 2.353363 / 2
    mean, lo, hi = mean_interval(np.array([1.0, 2.0, 3.0, 2.0]) * 1.0 + np.array([0, 0, 0, 0]))
    sd = np.std([1.0, 2.0, 3.0, 2.0], ddof=1)
    assert mean == 2.0
    assert hi - mean == pytest.approx(2.3533634 * sd / 2)
    assert mean - lo == pytest.approx(hi - mean)


def test_fingerprint_ignores_comments_but_not_code(tmp_path):
    import shutil

    from simulation.levers import FINGERPRINT_GLOBS, ROOT

    for pattern in FINGERPRINT_GLOBS:
        for path in ROOT.glob(pattern):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    before = fingerprint(tmp_path)
    lab = tmp_path / "simulation" / "agents" / "decisions.py"
    text = lab.read_text()
    lab.write_text(text.replace('"""Close ``rate``', '"""Reworded: close ``rate``', 1) + "\n# a comment\n")
    (tmp_path / "scenarios" / "tiny.yaml").write_text(
        (tmp_path / "scenarios" / "tiny.yaml").read_text() + "# note\n"
    )
    assert fingerprint(tmp_path) == before
    lab.write_text(text.replace("min(max(rate, 0.0), 1.0)", "min(max(rate, 0.0), 0.9)", 1))
    assert fingerprint(tmp_path) != before
