"""The report's interactive map in a real browser: headless Chromium (Debian's
``chromium`` and ``chromium-driver``) driven by selenium, with networking disabled."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import test_regions

region_run = test_regions.region_run  # the fixture: a region made and run end to end

pytestmark = pytest.mark.slow


def _driver(tmp_path: Path):
    """A headless Chromium under selenium that logs the console and reaches no network:
    no host resolves and DevTools sets the network offline."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "Chromium or its driver is not installed (apt install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e .[test])"
    )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    return driver


def _drawn_links(gpkg: Path) -> int:
    """Viable and rejected links that have a route to draw."""
    total = 0
    for layer in ("links", "rejected_links"):
        geoms = gpd.read_file(gpkg, layer=layer).geometry
        total += int((geoms.notna() & ~geoms.is_empty).sum())
    return total


@pytest.mark.parametrize("region_run", ["synthetic"], indirect=True)
def test_interactive_map_works_offline(region_run, tmp_path) -> None:
    """The report loads with no network and no console error, its map holds every link
    with a route, a click on a link opens its popup with units, and a screenshot of the
    map is not blank."""
    region, root, _ = region_run
    out = root / "outputs" / region
    driver = _driver(tmp_path)
    try:
        driver.get((out / "report.html").as_uri())
        driver.implicitly_wait(10)
        element = driver.find_element("id", "heatlink-map")
        counts = driver.execute_script("return window.heatlinkMap && window.heatlinkMap.counts")
        link_count = driver.execute_script("return window.heatlinkMap.linkCount")
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        shot = tmp_path / "interactive_map.png"
        driver.execute_script("arguments[0].scrollIntoView()", element)
        element.screenshot(str(shot))
        popup = driver.execute_script(
            "var m = window.heatlinkMap.map, found = null;"
            "m.eachLayer(function (l) { if (!found && l.feature && l.feature.properties &&"
            " l.feature.properties.route_length_m && l.openPopup) { found = l; } });"
            "found.openPopup(); return document.querySelector('.leaflet-popup-content').innerText;"
        )
        attributes = {a: element.get_attribute(a) for a in ("data-link-count", "data-counts")}
    finally:
        driver.quit()
    assert errors == [], errors
    assert link_count == _drawn_links(out / "heat_links.gpkg") > 0
    assert attributes["data-link-count"] == str(link_count)
    sources = gpd.read_file(out / "heat_links.gpkg", layer="sources")
    assert counts["sources"] == len(sources)
    assert json.loads(attributes["data-counts"]) == counts
    assert re.search(r"route_length_m\s+[\d,.]+ m\b", popup), popup  # a value with its unit
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert (pixels.mean(axis=2) < 0.95).mean() > 0.03  # roads, zones and links, not white
    assert len(np.unique((pixels * 255).astype(int).reshape(-1, 3), axis=0)) > 30
