"""Debian's chromium, headless, through Debian's chromium-driver (Selenium): the results pages in a real browser.

No browser is downloaded (Selenium is given both paths, so Selenium Manager stays idle) and the
browser starts with a fresh profile and its background networking off (the machine has no network).
Screenshots go to ``$AUDIOSCORE_SCREENSHOTS`` when set (to look at them), else to the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1200,1600", "--autoplay-policy=no-user-gesture-required")


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium session (a Selenium WebDriver) with its console log readable; skips without chromium."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make setup installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: Any) -> list[str]:
    """The browser console's errors since the last call (CSP violations and failed loads are errors)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: Any, name: str, fallback: Path) -> Path:
    """The whole page as ``name``.png (the window stretched to the page's height)."""
    directory = Path(os.environ.get("AUDIOSCORE_SCREENSHOTS") or fallback)
    directory.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(height, 600), 6000))
    path = directory / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def alert_text(driver: Any) -> str | None:
    """The text of an open alert dialog, or None (what an injected ``alert(1)`` would leave)."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return driver.switch_to.alert.text
    except NoAlertPresentException:
        return None
