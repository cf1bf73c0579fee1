"""Headless chromium for the browser tests (Debian's chromium and chromium-driver, driven by selenium).

Locally a browser test is skipped, with the reason, when something is missing; in CI (environment variable
CI set) it fails instead. Screenshots go to ``test-artifacts/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As the machine's probe starts it: without the background-networking flags chromium keeps trying hosts
# this closed network refuses.
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


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver() -> str | None:
    return CHROMEDRIVER if Path(CHROMEDRIVER).is_file() else shutil.which("chromedriver")


def missing(packages: Sequence[str] = ("selenium",)) -> list[str]:
    """What a browser test needs and this machine lacks."""
    out = [f"the {m} package" for m in packages if importlib.util.find_spec(m) is None]
    out += [] if chromium() else ["chromium"]
    out += [] if chromedriver() else ["chromedriver"]
    return out


def require(packages: Sequence[str], install_hint: str, what: str = "browser test") -> None:
    """Skip (locally) or fail (in CI) when anything the test needs is missing."""
    lacking = missing(packages)
    if lacking:
        reason = f"the {what} needs {', '.join(lacking)} ({install_hint})"
        if os.environ.get("CI"):
            pytest.fail(f"in CI {reason}")
        pytest.skip(reason)


def start_chrome(profile_dir: Path, window: str = "1280,900") -> Any:
    """A headless chromium with browser console logs enabled; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium())
    for flag in [*FLAGS, f"--user-data-dir={profile_dir}", f"--window-size={window}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(chromedriver())))
