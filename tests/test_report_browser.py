"""The comparison report in a real headless browser (Debian's chromium and chromium-driver, via selenium).

Locally the browser test is skipped, with the reason, when chromium, chromedriver or selenium is missing;
in CI (environment variable CI set) it must run, and ``test_ci_has_the_browser`` fails if it cannot. The
screenshot is kept in ``test-artifacts/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, missing, require, start_chrome

from simulation import compare, plotting, simulate
from simulation.outputs import write_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
INSTALL = "apt-get install chromium chromium-driver; pip install selenium"
EXPECTED = "open_usage_share_origin_china"
DIFFERENCE_CHARTS = [EXPECTED, "gap_months_true", "gap_months_benchmark", "open_share_usage"]


def test_ci_has_the_browser() -> None:
    if not os.environ.get("CI"):
        pytest.skip("checked only in CI (the CI environment variable is not set)")
    assert not missing(), f"CI must run the browser test but lacks {', '.join(missing())}"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    require(("selenium",), INSTALL)
    browser = start_chrome(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """report.html of a tiny run compared with a tiny run that has an event (same seed: paired)."""
    root = tmp_path_factory.mktemp("report")
    event = root / "event.yaml"
    event.write_text(
        "extends: tiny\nname: tiny_squeeze\ndescription: Chinese capital squeezed from 2025-06.\n"
        "events:\n  - at: 2025-06\n    set: {blocs.china.capital_multiplier: 0.2}\n"
        "    note: Chinese funding squeeze\n"
        "expected_effects:\n  - metric: open_usage_share_origin_china\n    direction: down\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "plot_run", lambda run, out_dir: [])  # the runs' own figures are not needed
        folders = [write_run(simulate(path, jobs=1), root / "runs") for path in (TINY, event)]
    return compare(folders, out=root / "out") / "report.html"


def test_report_opens_offline_with_every_image_and_no_errors(driver, report: Path) -> None:
    driver.get(report.as_uri())
    assert "Comparing scenarios: tiny, tiny_squeeze" in driver.find_element("tag name", "h1").text
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);"
    )
    assert len(images) == 4 + len(DIFFERENCE_CHARTS)  # the overlays and the paired differences
    for alt, complete, width in images:
        assert complete and width > 0, f"image not loaded: {alt}"
    external = driver.execute_script(
        'return document.querySelectorAll(\'script, link[href], [src^="http"], [src^="//"]\').length;'
    )
    assert external == 0
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe

    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.set_window_size(1280, min(int(height) + 100, 16000))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "compare-report.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 50_000


def test_report_leads_with_headlines_and_shows_the_difference_charts(driver, report: Path) -> None:
    driver.get(report.as_uri())
    first = driver.execute_script("return document.querySelector('section').id;")
    assert first == "headlines"
    section = driver.find_element("id", "headlines")
    assert "Headlines: each scenario against tiny" in section.text
    assert "tiny_squeeze against tiny" in section.text
    items = section.find_elements("css selector", "ul.headlines li")
    assert len(items) == len(DIFFERENCE_CHARTS)
    metrics = [i.get_attribute("data-metric") for i in items]
    assert metrics[:2] == ["gap_months_benchmark", EXPECTED]  # what data can check, then the expected effect
    assert items[0].text.startswith("Gap in months on benchmark scores, comparable to Epoch AI's ECI data")
    expected = items[1]
    assert expected.text.startswith("Share of open-model usage on open models made by labs of bloc china")
    assert f"({EXPECTED}, expected down)" in expected.text and "90% interval" in expected.text
    assert expected.get_attribute("data-window") == "2025-06 to 2025-12"  # from the scenario's event on
    assert expected.value_of_css_property("font-weight") == "600"  # expected effects stand out
    true_gap = items[metrics.index("gap_months_true")].text
    assert "depends on the assumed benchmark focus" in true_gap
    for item in items:
        assert re.search(r"difference [^;]*\[[^\]]+\]", item.text), item.text  # an effect and its interval
    charts = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure.difference img'))"
        ".map(i => [i.alt, i.complete, i.naturalWidth]);"
    )
    assert len(charts) == len(DIFFERENCE_CHARTS)
    for alt, complete, width in charts:
        assert alt.startswith("Paired difference over time") and complete and width > 0, alt
    assert any(EXPECTED in alt for alt, _, _ in charts)
    # each difference chart right after the overlay figure that shows its metric
    order = driver.execute_script(
        "return Array.from(document.querySelectorAll('#figures figure img')).map(i => i.alt);"
    )
    origin = next(i for i, alt in enumerate(order) if alt.startswith("Share of open-model usage by"))
    assert EXPECTED in order[origin + 1], order


def test_report_says_what_each_scenario_changes_in_plain_words(driver, report: Path) -> None:
    driver.get(report.as_uri())
    section = driver.find_element("id", "changes")
    plain = section.find_element("css selector", "ul.changes.plain").text
    assert (
        "from 2025-06, Chinese funding squeeze: bloc china: scales the chance and size of fundraising"
        in plain
    )
    assert "blocs.china.capital_multiplier" not in plain
    details = section.find_element("tag name", "details")
    assert not details.find_element("css selector", "ul.changes").is_displayed()  # dotted paths folded away
    details.find_element("tag name", "summary").click()
    assert "blocs.china.capital_multiplier" in details.find_element("css selector", "ul.changes").text


def test_report_prints_without_the_table_of_contents(driver, report: Path) -> None:
    driver.get(report.as_uri())
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = driver.execute_script("return getComputedStyle(document.querySelector('nav')).display;")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert shown == "none"
