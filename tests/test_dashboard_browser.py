"""The what-if page in a real headless browser (Debian's chromium and chromium-driver, via selenium).

The server is started as ``python run.py dashboard`` would (``simulation.dashboard.cli.main``) on a free
loopback port in a subprocess, with saved runs going to a temporary folder; it is always terminated. The
page is opened at the address the command printed (it carries the launch's token).
Locally the test is skipped, with the reason, when Solara, selenium, chromium or chromedriver is missing;
in CI (environment variable CI set) it fails instead. The screenshot is kept in ``test-artifacts/``
(git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, require, start_chrome

ROOT = Path(__file__).resolve().parents[1]
INSTALL = 'apt-get install chromium chromium-driver; pip install -e ".[test]"'
READY_S, WAIT_S = 60, 30
WIDTH = 1600  # a projector's width: the presentation layout must fill it


def require_everything() -> None:
    require(("solara", "selenium"), INSTALL, what="dashboard browser test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """(page URL, outputs folder, the server's terminal output) of a dashboard server started in a
    subprocess."""
    require_everything()
    out = tmp_path_factory.mktemp("dashboard-outputs")
    log = tmp_path_factory.mktemp("dashboard-log") / "server.log"
    port = free_port()
    code = f"from simulation.dashboard.cli import main; raise SystemExit(main(['--port', '{port}', '--out', {str(out)!r}]))"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    printed = re.compile(rf"What-if page: (http://127\.0\.0\.1:{port}/\?token=[\w-]+)")
    url = ""
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            found = printed.search(log.read_text())
            url = found.group(1) if found else ""
            try:
                if not url:
                    raise OSError("no address printed yet")
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard server was not ready in {READY_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        yield url, out, log
    finally:
        proc.terminate()  # cli.main stops its solara child, then ends
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: server and child
            proc.wait()


@pytest.fixture(scope="module")
def driver(server, tmp_path_factory) -> Iterator[Any]:
    browser = start_chrome(tmp_path_factory.mktemp("chromium-profile"), window=f"{WIDTH},1000")
    try:
        yield browser
    finally:
        browser.quit()


def wait_for(driver: Any, what: str, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    # polled every 50 ms (Selenium's default is 500 ms, most of a wait for a page that answers in tens of ms)
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(
        lambda d: condition(d), message=f"waiting for {what}"
    )


def status(driver: Any) -> dict[str, str]:
    """The data attributes of the page's status line (this month's figures)."""
    return driver.execute_script(
        "const e = document.querySelector('.whatif-status');return e ? Object.assign({}, e.dataset) : null;"
    )


def chart_src(driver: Any) -> str:
    return driver.execute_script(
        "const i = document.querySelector('.whatif-chart img'); return i ? i.src : '';"
    )


def type_into(driver: Any, css: str, text: str) -> None:
    """Replace a lever field's text and press Enter (the page reads it then)."""
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element("css selector", f"{css} input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.ENTER)


def click(driver: Any, css: str) -> None:
    wait_for(driver, f"{css} enabled", lambda d: d.find_element("css selector", css).is_enabled())
    driver.find_element("css selector", css).click()


def test_page_levers_steps_refuses_and_saves(server, driver) -> None:
    url, out, _ = server
    driver.get(url)
    wait_for(driver, "the status line", lambda d: status(d) is not None and chart_src(d))
    first = status(driver)
    assert first["tick"] == "0" and first["gapTrue"] == first["baselineGapTrue"]
    image = chart_src(driver)

    # a lever: much stronger distillation; then six months, one Step at a time
    type_into(driver, ".lever-distillation_efficacy", "0.3")
    wait_for(driver, "the lever in the description", lambda d: "distillation efficacy 0.3" in d.page_source)
    for month in range(1, 7):
        click(driver, ".do-step")
        wait_for(driver, f"month {month}", lambda d, m=month: status(d)["tick"] == str(m))
    now = status(driver)
    assert now["date"] == "2025-07"
    assert float(now["gapTrue"]) < float(now["baselineGapTrue"]) - 0.5, now  # open labs catch up faster
    wait_for(driver, "a new chart", lambda d: chart_src(d) not in ("", image))

    # a bad value is refused with the loader's message; the server carries on
    type_into(driver, ".lever-ban_threshold_flop", "-1")
    refused = wait_for(driver, "the refusal", lambda d: d.find_elements("css selector", ".whatif-refused"))
    assert "policy.ban.threshold_flop: Input should be greater than 0 (got -1.0)" in refused[0].text
    click(driver, ".do-step")
    wait_for(driver, "month 7 after the refusal", lambda d: status(d)["tick"] == "7")

    # save: a replicate set written as run.py writes it
    type_into(driver, ".save-replicates", "2")
    click(driver, ".do-save")
    saved = wait_for(driver, "the saved run", lambda d: d.find_elements("css selector", ".whatif-saved"))
    folders = [
        p for p in (out / "baseline_whatif").iterdir() if not p.name.startswith(".") and not p.is_symlink()
    ]
    assert len(folders) == 1 and str(folders[0]) in saved[0].text
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert (folders[0] / "timeseries.csv").is_file() and (folders[0] / "plots" / "gap.png").is_file()

    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 50_000


def chart_width(driver: Any) -> float:
    return driver.execute_script(
        "const i = document.querySelector('.whatif-chart img');"
        "return i && i.complete ? i.getBoundingClientRect().width : 0;"
    )


def test_presentation_layout_fills_a_projectors_width(server, driver) -> None:
    """At 1600 px the working layout gives the chart most of the page; the presentation layout gives it
    the whole width (levers folded below), with a figure drawn wide enough not to be blown up."""
    url, _, _ = server
    driver.get(url)
    wait_for(driver, "the chart", lambda d: chart_width(d) > 0)
    page = driver.execute_script("return document.documentElement.clientWidth;")
    assert page >= WIDTH - 30  # the window is as wide as asked (less a scroll bar)
    working = chart_width(driver)
    assert working >= 0.6 * page, (working, page)
    image = chart_src(driver)
    click(driver, ".do-present label")  # the switch: its input sits under the drawn track
    wait_for(
        driver, "the presentation layout", lambda d: d.find_elements("css selector", ".whatif-presenting")
    )
    wait_for(driver, "the wide chart", lambda d: chart_src(d) not in ("", image) and chart_width(d) > working)
    wide = chart_width(driver)
    assert wide >= 0.93 * page, (wide, page)
    natural = driver.execute_script("return document.querySelector('.whatif-chart img').naturalWidth;")
    assert natural >= 0.95 * wide  # drawn at about the size shown: type stays sharp on a projector
    levers = driver.find_elements("css selector", ".lever-seed")
    assert not any(e.is_displayed() for e in levers)  # levers folded away below the chart
    click(driver, ".v-expansion-panel-header")
    wait_for(
        driver, "the levers unfolded", lambda d: d.find_element("css selector", ".lever-seed").is_displayed()
    )
    click(driver, ".do-step")
    wait_for(driver, "month 1 in the presentation layout", lambda d: status(d)["tick"] == "1")
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / "dashboard-presentation.png"))


def test_the_terminal_stays_quiet(server, driver) -> None:
    """After the browser sessions above (several page loads and websocket connections), the server's
    terminal holds its own lines only: no warning (Solara's cookie warning came once per connection)."""
    url, _, log = server
    for _ in range(2):  # two more connections
        driver.get(url)
        wait_for(driver, "the page", lambda d: status(d) is not None)
    said = log.read_text()
    assert said.count("What-if page: http://") == 1
    assert "samesite" not in said.lower() and "Warning" not in said, said
    assert "Traceback" not in said, said


def test_another_sites_page_cannot_drive_the_server(server, driver, tmp_path) -> None:
    """A page from another origin -- here another port of 127.0.0.1, to which the browser even sends the
    token cookie (SameSite ignores ports) -- cannot open the page's websocket: the server refuses its
    Origin. (Run after the test above, the browser holds the cookie.)"""
    import functools
    import http.server
    import threading

    url, _, _ = server
    dashboard = url.split("/?")[0]
    (tmp_path / "other.html").write_text(
        "<script>"
        f"const ws = new WebSocket('{dashboard.replace('http', 'ws')}/jupyter/api/kernels/k/channels?session_id=s');"
        "ws.onopen = () => { document.title = 'opened'; };"
        "ws.onerror = () => { document.title = 'refused'; };"
        "</script>"
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    other = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        driver.get(f"http://127.0.0.1:{other.server_address[1]}/other.html")
        title = wait_for(
            driver, "the other page's websocket", lambda d: d.title in ("opened", "refused") and d.title
        )
        assert title == "refused"
    finally:
        other.shutdown()
        other.server_close()
