"""A student on a phone, sidebar closed, walks every lesson, 1 to the last, by the links in the
pages."""

from __future__ import annotations

import re

import pytest
from browser_helpers import (
    SKIP_WITHOUT_CHROMIUM,
    exception_texts,
    open_page,
    script_runs,
    url_path,
    wait_idle,
)
from playwright.sync_api import Page, expect

from lessons import catalog

pytestmark = [pytest.mark.browser, SKIP_WITHOUT_CHROMIUM]

PHONE = {"width": 390, "height": 844}
MAIN = "[data-testid=stMain]"
SIDEBAR = "[data-testid=stSidebar]"


def url_for(path: str) -> str:
    """The URL path Streamlit serves a page script at: / for app.py, /Name for pages/N_Name.py."""
    if path == "app.py":
        return "/"
    return "/" + path.removeprefix("pages/").removesuffix(".py").split("_", 1)[1]


LESSON_URLS = [url_for(catalog.lesson(n).path) for n in range(1, catalog.LESSON_COUNT + 1)]


def sidebar_closed(page: Page) -> bool:
    """True when the sidebar is collapsed (or absent): it covers none of the screen."""
    sidebar = page.locator(SIDEBAR)
    if sidebar.count() == 0:
        return True
    if sidebar.get_attribute("aria-expanded") == "false":
        return True
    box = sidebar.bounding_box()
    return box is None or box["x"] + box["width"] <= 0


def test_a_phone_walks_every_lesson_by_the_next_links(new_page, app_url):
    page = new_page(**PHONE)
    open_page(page, app_url + "/")
    assert sidebar_closed(page)
    assert page.locator(MAIN).get_by_text("Start here", exact=False).count() >= 1
    visited = [url_path(page.url)]
    for expected in LESSON_URLS[1:]:
        link = page.locator(MAIN).get_by_role("link", name=re.compile(r"^Next: lesson"))
        # The link is the page's last element: wait for it (a long page may still be drawing).
        expect(link, f"no in-page Next link on {visited[-1]}").to_have_count(1, timeout=60_000)
        link.scroll_into_view_if_needed()
        assert link.is_visible()
        runs = script_runs(page)
        link.click()
        page.wait_for_url(lambda url, target=expected: url_path(url) == target)
        wait_idle(page, since=runs)
        assert not exception_texts(page), exception_texts(page)
        assert sidebar_closed(page)
        visited.append(url_path(page.url))
    assert visited == LESSON_URLS
    # The last lesson leads nowhere further.
    next_links = page.locator(MAIN).get_by_role("link", name=re.compile(r"^Next: lesson"))
    assert next_links.count() == 0
