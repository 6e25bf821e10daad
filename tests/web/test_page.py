"""The page at ``/`` in a real Chromium against real ``truceline serve`` processes, on the
seed case (the Ganja strike of 17 October 2020 and the ceasefire of 10 October): every
figure it shows is compared with what the API answers, fetched alongside with httpx."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.web.conftest import CEASEFIRE, CONFLICT, GANJA, GANJA_CORRECTION

if TYPE_CHECKING:  # the fixtures' types (pytest hands the fixtures themselves over)
    from tests.web.conftest import Server, StartServer

WAIT = 15_000  # ms for the page to show what is expected

IDS = "() => [...document.querySelectorAll('#events > li')].map((li) => li.dataset.eventId)"
POSITIONS = "() => [...document.querySelectorAll('#events > li')].map((li) => +li.dataset.position)"
BY_PARTY = (  # a card's breaches by party: {party: count}
    "lis => Object.fromEntries(lis.map((li) => "
    "[li.firstChild.textContent, Number(li.lastChild.textContent)]))"
)
ARRIVALS = "() => [...document.querySelectorAll('#arrivals li')].map((li) => +li.dataset.position)"


@pytest.fixture(scope="module")
def editor_key(web_server: Server) -> str:
    """May append, and correct events the command line loaded (the seed)."""
    return web_server.create_key("newsroom", "editor")


# ---- the API, read alongside ----------------------------------------------------------


def api_ids(server: Server, key: str | None = None, **params: Any) -> list[str]:
    answer = server.get("/v1/timeline", key, conflict=CONFLICT, limit=50, **params)
    return [item["event_id"] for item in answer["items"]]


def log_position(server: Server) -> int:
    position: int = server.get("/v1/health")["log_position"]
    return position


def shelling(place: str, occurred_at: str) -> dict[str, Any]:
    return {
        "type": "shelling",
        "event_id": str(uuid.uuid4()),
        "conflict": CONFLICT,
        "occurred_at": occurred_at,
        "timezone": "Asia/Baku",
        "perpetrator": "Armenia",
        "location": {"name": place, "country": "AZ"},
        "sources": [{"name": "Azerbaijan Ministry of Defence"}],
    }


# ---- the page -----------------------------------------------------------------------------


def settled(page: Page, position: int | None = None) -> None:
    """Wait until the page has shown everything it read (at ``position``, if given)."""
    at = f'[data-position="{position}"]' if position is not None else ""
    page.wait_for_selector(f'#content[aria-busy="false"]{at}', state="attached", timeout=WAIT)


def open_page(page: Page, server: Server, query: str = f"?conflict={CONFLICT}") -> None:
    page.goto(f"{server.base_url}/{query}")
    settled(page)


def shown_ids(page: Page) -> list[str]:
    return cast(list[str], page.evaluate(IDS))


def expect_ids(page: Page, expected: list[str]) -> None:
    """The page lists exactly ``expected``, in that order (once it has caught up)."""
    same = f"ids => JSON.stringify(({IDS})()) === JSON.stringify(ids)"
    with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what differs
        page.wait_for_function(same, arg=expected, timeout=WAIT)
    assert shown_ids(page) == expected


def arrivals(page: Page) -> list[int]:
    """The positions of the log entries the live feed delivered, oldest first."""
    return sorted(cast(list[int], page.evaluate(ARRIVALS)))


def fact(scope: Page | Locator, name: str) -> str:
    """The value shown beside the label ``name`` (the first such, within ``scope``)."""
    return scope.locator(f'.fact:has(dt:text-is("{name}")) dd').first.inner_text()


def killed(page: Page, event_id: str = GANJA) -> str:
    return fact(page.locator(f'#events li[data-event-id="{event_id}"]'), "Killed")


def wait_live(page: Page) -> None:
    page.wait_for_selector('#live[data-state="live"]', timeout=WAIT)


# ---- the tests -----------------------------------------------------------------------------


def test_the_timeline_lists_the_events_in_the_apis_order(
    page: Page, web_server: Server, screenshots: Path
) -> None:
    open_page(page, web_server)
    items = web_server.get("/v1/timeline", conflict=CONFLICT, order="desc", limit=50)["items"]
    assert len(items) == 14
    assert shown_ids(page) == [item["event_id"] for item in items]  # by default newest first
    assert page.evaluate(POSITIONS) == [item["position"] for item in items]
    page.wait_for_selector("#map svg.map-svg", timeout=WAIT)
    page.screenshot(path=screenshots / "page-seed.png", full_page=True)

    page.select_option("#order", "asc")
    expect_ids(page, api_ids(web_server))
    assert "order=asc" in page.url


@pytest.mark.parametrize(("at", "status"), [("2020-10-12", "holding"), ("2020-10-18", "violated")])
def test_a_ceasefire_card_shows_the_status_the_api_gives(
    page: Page, web_server: Server, at: str, status: str
) -> None:
    open_page(page, web_server)
    page.fill("#at", at)
    page.click("#view-form button[type=submit]")
    settled(page)

    statuses = web_server.get(
        "/v1/ceasefires", conflict=CONFLICT, at=f"{at}T23:59:59Z", by_day="true"
    )["items"]
    assert [s["ceasefire_id"] for s in statuses] == [CEASEFIRE]
    assert statuses[0]["status"] == status
    cards = page.locator(".card")
    assert cards.evaluate_all("els => els.map(e => e.dataset.ceasefireId)") == [CEASEFIRE]
    card = cards.first
    assert card.locator(".status-word").inner_text().lower() == status  # in words
    assert card.locator(".breaches .count").inner_text() == str(statuses[0]["breaches"]["total"])
    by_party = card.locator(".by-party li").evaluate_all(BY_PARTY)
    assert by_party == statuses[0]["breaches"]["by_party"]
    # The chart's table holds the API's counted breaches per day.
    rows = page.locator("#chart-table tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.day, +r.children[1].textContent])"
    )
    assert rows == [[d["day"], d["total"]] for d in statuses[0]["breaches_by_day"]]


def test_a_type_filter_lists_exactly_the_apis_filtered_items(
    page: Page, web_server: Server
) -> None:
    open_page(page, web_server)
    page.click("label[for=type-strike]")
    strikes = api_ids(web_server, order="desc", type="strike")
    assert len(strikes) == 3
    expect_ids(page, strikes)

    page.click("label[for=type-shelling]")
    expect_ids(page, api_ids(web_server, order="desc", type=["strike", "shelling"]))
    assert parse_qs(urlsplit(page.url).query)["type"] == ["strike", "shelling"]


def test_the_page_loads_nothing_from_another_origin_and_breaks_no_policy(
    page: Page, web_server: Server
) -> None:
    requests: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))

    response = page.goto(f"{web_server.base_url}/?conflict={CONFLICT}")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    settled(page)
    page.wait_for_selector("#map svg.map-svg", timeout=WAIT)  # the lazily loaded map too
    wait_live(page)

    assert requests
    assert [url for url in requests if not url.startswith(f"{web_server.base_url}/")] == []
    assert any("/static/vendor/world-atlas/countries-110m.json" in url for url in requests)
    assert [m for m in console if "Content Security Policy" in m or "Refused to" in m] == []
    assert [m for m in console if m.startswith("error")] == []
    assert errors == []


def test_an_appended_event_appears_without_a_reload(
    page: Page, web_server: Server, editor_key: str, screenshots: Path
) -> None:
    open_page(page, web_server)
    wait_live(page)
    page.evaluate("() => { window.sameDocument = true; }")

    event = shelling("Tartar", "2020-10-18T09:30:00")
    position = web_server.append(editor_key, event)

    page.wait_for_selector(f'#events > li[data-event-id="{event["event_id"]}"]', timeout=WAIT)
    settled(page, position)
    assert page.evaluate("() => window.sameDocument") is True
    assert shown_ids(page) == api_ids(web_server, order="desc")
    assert shown_ids(page)[0] == event["event_id"]  # the newest
    assert arrivals(page) == [position]
    page.screenshot(path=screenshots / "page-live.png")


def test_as_known_on_before_a_correction_shows_the_old_figure_and_the_permalink_pins_it(
    page: Page, browser: Browser, web_server: Server, editor_key: str, screenshots: Path
) -> None:
    before = log_position(web_server)
    after = web_server.append(editor_key, GANJA_CORRECTION)

    open_page(page, web_server)
    assert killed(page) == "13"
    # A live view is cited at the log position it shows.
    live_link = parse_qs(urlsplit(page.get_attribute("#permalink", "href") or "").query)
    assert live_link["as_of"] == [str(after)]
    # The Corrected badge opens the event's history: the original figure, then the change.
    page.click(f'#events li[data-event-id="{GANJA}"] .badge-corrected')
    dialog = page.locator("#history")
    dialog.locator(".step-correction").wait_for(timeout=WAIT)
    assert fact(dialog.locator(".original"), "killed") == "12"
    assert fact(dialog.locator(".step-correction"), "killed") == "13"
    page.click("#history-close")

    page.fill("#as-of", str(before))
    page.click("#view-form button[type=submit]")
    settled(page, before)
    assert killed(page) == "12"
    assert page.locator(f'#events li[data-event-id="{GANJA}"] .badge-corrected').count() == 0
    assert shown_ids(page) == api_ids(web_server, order="desc", as_of=before)
    assert page.get_attribute("#live", "data-state") == "off"
    page.screenshot(path=screenshots / "page-as-of.png", full_page=True)

    permalink = page.get_attribute("#permalink", "href") or ""
    query = parse_qs(urlsplit(permalink).query)
    assert query["as_of"] == [str(before)]
    assert query["conflict"] == [CONFLICT]

    # The permalink, opened afresh, is the same page, pinned: every read as_of, no stream.
    cited = page.context.new_page()
    requests: list[str] = []
    cited.on("request", lambda request: requests.append(request.url))
    cited.goto(f"{web_server.base_url}{permalink}")
    settled(cited, before)
    assert shown_ids(cited) == shown_ids(page)
    assert killed(cited) == "12"
    assert cited.input_value("#as-of") == str(before)
    assert cited.get_attribute("#live", "data-state") == "off"
    reads = [url for url in requests if "/v1/" in url and "/v1/health" not in url]
    assert reads
    assert all(f"as_of={before}" in url for url in reads), reads
    assert not any("/v1/stream" in url for url in requests)


def test_the_stream_resumes_after_a_drop_without_losing_or_repeating_an_entry(
    page: Page, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    key = server.create_key("desk", "writer")
    open_page(page, server)
    wait_live(page)

    first = shelling("Tartar", "2020-10-18T09:30:00")
    first_position = server.append(key, first)
    page.wait_for_selector(f'#events li[data-event-id="{first["event_id"]}"]', timeout=WAIT)

    server.stop()  # the page's stream drops; an entry is recorded while it is away
    page.wait_for_selector('#live[data-state="reconnecting"]', timeout=WAIT)
    second = shelling("Aghdam", "2020-10-18T11:00:00")
    offline = tmp_path / "offline.ndjson"
    offline.write_text(json.dumps(second) + "\n")
    server.cli("import", str(offline))
    server.start()  # the same port: the page reconnects with Last-Event-ID

    page.wait_for_selector(f'#events li[data-event-id="{second["event_id"]}"]', timeout=WAIT)
    wait_live(page)
    third = shelling("Barda", "2020-10-18T12:00:00")
    third_position = server.append(key, third)
    page.wait_for_selector(f'#events li[data-event-id="{third["event_id"]}"]', timeout=WAIT)
    settled(page, third_position)

    assert third_position == first_position + 2
    assert arrivals(page) == [first_position, first_position + 1, third_position]
    ids = shown_ids(page)
    assert [ids.count(e["event_id"]) for e in (first, second, third)] == [1, 1, 1]
    assert ids == api_ids(server, order="desc")


def test_with_reads_closed_the_page_asks_for_a_key_and_keeps_it_for_the_tab_only(
    page: Page, start_server: StartServer, screenshots: Path
) -> None:
    closed_server = start_server(open_reads=False)
    key = closed_server.create_key("reader", "reader")
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{closed_server.base_url}/?conflict={CONFLICT}")

    page.wait_for_selector("#key-panel:not([hidden])", timeout=WAIT)
    assert page.locator("#content").is_hidden()
    page.screenshot(path=screenshots / "page-key.png")

    page.fill("#key-input", "tl.nobody.wrong")
    page.click("#key-form button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('key-error').textContent !== ''", timeout=WAIT
    )
    assert "not accepted" in page.inner_text("#key-error")

    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    settled(page)
    assert page.locator("#key-panel").is_hidden()
    assert shown_ids(page) == api_ids(closed_server, key, order="desc")
    wait_live(page)  # the stream is read with the key too

    storage = page.evaluate("() => ({session: {...sessionStorage}, local: {...localStorage}})")
    assert list(storage["session"].values()) == [key]
    assert storage["local"] == {}
    assert key not in page.url
    assert not [r.url for r in requests if key in r.url]
    keyed = [r for r in requests if "/v1/timeline" in r.url and r.headers.get("authorization")]
    assert keyed
    assert keyed[-1].headers["authorization"] == f"Bearer {key}"
