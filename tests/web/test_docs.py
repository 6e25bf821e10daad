"""The interactive API docs at ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served from the
vendored files only, and the Content-Security-Policy of each kind of path: first over
``TestClient``, then in a real Chromium against a real ``truceline serve``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, Request

from tests.e2e.servers import cli_env, serving
from tests.web.conftest import SCREENSHOTS
from truceline.api import create_app
from truceline.settings import Settings

DOC_PAGES = ["/docs", "/redoc"]

API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
REDOC_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def app_client(tmp_path: Path, *, docs: bool = True) -> TestClient:
    """A client (not yet started) of an app on a new SQLite file in ``tmp_path``."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/t.db", docs=docs))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def web(no_outside_settings: None, tmp_path: Path) -> Iterator[TestClient]:
    """An app with the default settings (docs on) on a new SQLite file."""
    with app_client(tmp_path) as test_client:
        yield test_client


class Markup(HTMLParser):
    """What an HTML page loads and links to, and any code or style written inline."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.urls += [value for name, value in values.items() if name in ("src", "href")]
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])
        if tag == "style" or "style" in values or any(n.startswith("on") for n in values):
            self.inline.append(tag)

    def handle_data(self, data: str) -> None:
        if self.lasttag in ("script", "style") and data.strip():
            self.inline.append(data)


def markup(html: str) -> Markup:
    """``html`` parsed into what it loads, links to and writes inline."""
    parsed = Markup()
    parsed.feed(html)
    return parsed


@pytest.mark.parametrize("path", DOC_PAGES)
def test_a_docs_page_loads_only_vendored_same_origin_files(web: TestClient, path: str) -> None:
    response = web.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = markup(response.text)
    assert page.inline == []
    assert not [url for url in page.urls if urlsplit(url).scheme in ("http", "https")]
    assert not [url for url in page.urls if url.startswith("//")]
    assert all(src.startswith("/static/") for src in page.scripts)
    assert any(src.startswith("/static/vendor/") for src in page.scripts)
    for url in page.urls:
        if url.startswith("/"):
            assert web.get(url).status_code == 200, url


@pytest.mark.parametrize("path", DOC_PAGES)
def test_a_docs_page_links_back_to_the_page(web: TestClient, path: str) -> None:
    assert "/" in markup(web.get(path).text).urls


def test_the_docs_routes_are_not_in_the_schema(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]

    assert not {"/", "/docs", "/redoc"} & set(paths)


@pytest.mark.parametrize("path", DOC_PAGES)
def test_with_docs_off_neither_docs_page_exists(
    no_outside_settings: None, tmp_path: Path, path: str
) -> None:
    with app_client(tmp_path, docs=False) as client:
        assert client.get(path).status_code == 404
        assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/", PAGE_CSP),
        ("/static/index.html", PAGE_CSP),
        ("/static/vendor/d3-geo/d3-geo.min.js", PAGE_CSP),
        ("/static/docs/swagger-init.js", PAGE_CSP),
        ("/docs", PAGE_CSP),
        ("/redoc", REDOC_CSP),
        ("/v1/health", API_CSP),
        ("/openapi.json", API_CSP),
        ("/nowhere", API_CSP),
        ("/docs/", API_CSP),
        ("/redoc/x", API_CSP),
        ("/index.html", API_CSP),
    ],
)
def test_each_kind_of_path_has_its_content_security_policy(
    web: TestClient, path: str, policy: str
) -> None:
    response = web.get(path, follow_redirects=False)

    assert response.headers["content-security-policy"] == policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


# -- in a real browser --------------------------------------------------------------------


def local(url: str) -> bool:
    parts = urlsplit(url.removeprefix("blob:"))
    return parts.scheme == "data" or parts.hostname == "127.0.0.1"


@dataclass
class Visit:
    """What one page load asked for and complained about."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        """The requested URLs that are neither data: nor on 127.0.0.1 (a blob: URL counts
        as its origin's)."""
        return [url for url in self.requests if not local(url)]

    def csp_violations(self) -> list[str]:
        return [text for text in self.console if "Content Security Policy" in text]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``truceline serve`` with the default settings, on a new SQLite file."""
    directory = tmp_path_factory.mktemp("docs-server")
    env = cli_env(f"sqlite:///{directory}/truceline.db")
    with serving(env, directory, directory / "serve.log") as url:
        yield url


def open_page(browser: Browser, url: str) -> tuple[Page, Visit]:
    """A new page at ``url``, recording its requests, console messages and errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    visit = Visit()

    def on_request(request: Request) -> None:
        visit.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        visit.console.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    page.goto(url)
    return page, visit


def assert_clean(visit: Visit) -> None:
    assert visit.outside() == []
    assert visit.csp_violations() == []
    assert visit.errors == []


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def test_swagger_ui_renders_from_vendored_files_alone(browser: Browser, base_url: str) -> None:
    page, visit = open_page(browser, f"{base_url}/docs")

    title = page.locator(".swagger-ui .info .title")
    title.wait_for()
    page.locator(".swagger-ui .opblock").first.wait_for()
    page.wait_for_load_state("networkidle")
    screenshot(page, "docs-swagger.png")

    assert "Truceline" in title.inner_text()
    assert f"{base_url}/openapi.json" in visit.requests
    assert_clean(visit)
    page.close()


def test_redoc_renders_and_searches_from_vendored_files_alone(
    browser: Browser, base_url: str
) -> None:
    page, visit = open_page(browser, f"{base_url}/redoc")

    heading = page.locator("h1").first
    heading.wait_for()
    page.wait_for_load_state("networkidle")
    screenshot(page, "docs-redoc.png")
    # The search index lives in a worker built from a blob: what worker-src blob: is for.
    page.get_by_placeholder("Search...").fill("timeline")
    result = page.locator("[data-role='search:results'] li").first
    result.wait_for()

    assert "Truceline" in heading.inner_text()
    assert "Timeline" in result.inner_text()
    assert_clean(visit)
    page.close()
