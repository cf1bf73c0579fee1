"""The comparison report in a real headless browser (Debian's chromium and chromium-driver, via selenium).

Locally the browser test is skipped, with the reason, when chromium, chromedriver or selenium is missing;
in CI (environment variable CI set) it must run, and ``test_ci_has_the_browser`` fails if it cannot. The
screenshot is kept in ``test-artifacts/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from simulation import compare, plotting, simulate
from simulation.outputs import write_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
ARTIFACTS = ROOT / "test-artifacts"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = "apt-get install chromium chromium-driver; pip install selenium"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver() -> str | None:
    return CHROMEDRIVER if Path(CHROMEDRIVER).is_file() else shutil.which("chromedriver")


def missing_browser() -> list[str]:
    """What the browser test needs and this machine lacks."""
    missing = [] if importlib.util.find_spec("selenium") else ["the selenium package"]
    missing += [] if chromium() else ["chromium"]
    missing += [] if chromedriver() else ["chromedriver"]
    return missing


def test_ci_has_the_browser() -> None:
    if not os.environ.get("CI"):
        pytest.skip("checked only in CI (the CI environment variable is not set)")
    assert not missing_browser(), f"CI must run the browser test but lacks {', '.join(missing_browser())}"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    missing = missing_browser()
    if missing:
        reason = f"browser test needs {', '.join(missing)} ({INSTALL})"
        if os.environ.get("CI"):
            pytest.fail(f"in CI the {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium())
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=str(chromedriver())))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """report.html of a tiny run compared with a tiny run that has an event (same seed: paired)."""
    root = tmp_path_factory.mktemp("report")
    event = root / "event.yaml"
    event.write_text(
        f"extends: {TINY}\nname: tiny_squeeze\ndescription: Chinese capital squeezed from 2025-06.\n"
        "events:\n  - at: 2025-06\n    set: {blocs.china.capital_multiplier: 0.2}\n"
        "    note: Chinese funding squeeze\n"
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
    assert len(images) == 4
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


def test_report_prints_without_the_table_of_contents(driver, report: Path) -> None:
    driver.get(report.as_uri())
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = driver.execute_script("return getComputedStyle(document.querySelector('nav')).display;")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert shown == "none"
