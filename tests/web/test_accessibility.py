"""The page at ``/`` is accessible, checked in a real Chromium on the seed case (with the
Ganja strike corrected, so the timeline has a history control): every form control has a
name, the keyboard reaches every control with its focus visible, the history dialog takes
and gives back focus, every visible text meets WCAG 2.x AA contrast, and the chart and the
map have text alternatives holding what the API answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from playwright.sync_api import Page

from tests.web.conftest import CEASEFIRE, CONFLICT, GANJA, GANJA_CORRECTION

if TYPE_CHECKING:  # the fixtures' types (pytest hands the fixtures themselves over)
    from tests.web.conftest import Server

GANJA_BADGE = f'#events li[data-event-id="{GANJA}"] .badge-corrected'
WAIT = 15_000  # ms for the page to show what is expected
MOST_TABS = 250  # Tab presses before the walk gives up on coming round to the start

# The timeline's types, in the page's order, with the names their filter checkboxes carry
# (js/timeline.js TYPES).
TYPES = {
    "strike": "Strike",
    "shelling": "Shelling",
    "clash": "Clash",
    "ceasefire_agreed": "Ceasefire agreed",
    "ceasefire_breached": "Breach reported",
    "ceasefire_ended": "Ceasefire ended",
    "casualty_report": "Casualty report",
    "displacement": "Displacement",
    "statement": "Statement",
}
CONTROL_ROLE = re.compile(r"\s*- (textbox|combobox|checkbox|button|searchbox|spinbutton)\b")
NAMED = re.compile(r'- \w+ "[^"]+"')  # an ARIA snapshot's line for a named control
STATUSES = ["holding", "violated", "agreed", "superseded", "collapsed", "ended"]


@pytest.fixture(scope="module")
def corrected(web_server: Server) -> int:
    """The Ganja strike corrected (killed 12 -> 13), once for the module: its timeline
    entry then carries a Corrected badge that opens its history. The correction's position."""
    key = web_server.create_key("a11y-desk", "editor")  # corrects what the CLI loaded
    return web_server.append(key, GANJA_CORRECTION)


def open_page(page: Page, server: Server, query: str = "") -> None:
    """The seed conflict's page, once it has shown everything it read (the map too)."""
    page.goto(f"{server.base_url}/?conflict={CONFLICT}{query}")
    page.wait_for_selector('#content[aria-busy="false"]', state="attached", timeout=WAIT)
    page.wait_for_selector("#events > li", timeout=WAIT)
    page.wait_for_selector("#map svg.map-svg", timeout=WAIT)


def describe_place(items: list[dict[str, Any]]) -> str:
    """A map point's text as the page gives it (js/map.js describe): its name, how many
    events, and how many of each type."""
    kinds: dict[str, int] = {}
    for item in items:
        kinds[item["type"]] = kinds.get(item["type"], 0) + 1
    each = ", ".join(f"{TYPES.get(type_, type_)} {n}" for type_, n in kinds.items())
    noun = "event" if len(items) == 1 else "events"
    return f"{items[0]['location'].get('name') or 'Unnamed place'}: {len(items)} {noun} ({each})"


def contrast_report(offenders: list[dict[str, Any]]) -> str:
    """One line per text that fails: what it says, where, its colours and their ratio."""
    return "\n".join(
        f"{o['text']!r} ({o['el']}, {o['size']}px/{o['weight']}): "
        + (
            f"{o['colour']} on {o['background']} = {o['ratio']}:1, needs {o['needed']}:1"
            if "ratio" in o
            else f"{o['colour']}: {o['problem']}"
        )
        for o in offenders
    )


# ---- scripts evaluated in the page --------------------------------------------------------

# How an element is named in messages: its id, else its tag, classes, text and event.
DESCRIBE = """
const describe = (el) => {
  if (el.id) return `#${el.id}`;
  const event = el.closest('[data-event-id]')?.dataset.eventId;
  const text = (el.textContent ?? '').replace(/\\s+/g, ' ').trim().slice(0, 30);
  return `${el.tagName.toLowerCase()}${[...el.classList].map((c) => `.${c}`).join('')}`
    + (event ? `[event ${event.slice(0, 8)}]` : '') + (text ? ` "${text}"` : '');
};
"""

# Each rendered form control and the name it is given: aria-labelledby, aria-label, its
# labels (<label for> or a wrapping label), a button's own text; aria-hidden text left out.
NAMES = (
    "() => {"
    + DESCRIBE
    + """
  const text = (node) => {
    if (!node) return '';
    if (node.nodeType === Node.TEXT_NODE) return node.textContent;
    if (node.nodeType !== Node.ELEMENT_NODE || node.getAttribute('aria-hidden') === 'true') {
      return '';
    }
    return [...node.childNodes].map(text).join('');
  };
  const clean = (s) => s.replace(/\\s+/g, ' ').trim();
  const name = (el) => {
    const ids = (el.getAttribute('aria-labelledby') ?? '').split(/\\s+/).filter(Boolean);
    return clean(ids.map((id) => text(document.getElementById(id))).join(' '))
      || clean(el.getAttribute('aria-label') ?? '')
      || clean([...(el.labels ?? [])].map(text).join(' '))
      || (el.tagName === 'BUTTON' ? clean(text(el)) : '');
  };
  return [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.type !== 'hidden' && el.checkVisibility())
    .map((el) => [describe(el), name(el)]);
}"""
)

# Where the keyboard focus is, and how it shows: a control drawn in place of an invisible
# one (the type filters' labels, over opacity-0 checkboxes) shows the focus for it.
FOCUSED = (
    "() => {"
    + DESCRIBE
    + """
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const own = getComputedStyle(el);
  const hidden = own.opacity === '0' || el.getBoundingClientRect().width <= 1;
  const shown = hidden && el.labels?.length ? el.labels[0] : el;
  const style = getComputedStyle(shown);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {
    key: describe(el),
    shownOn: describe(shown),
    visible: outline || style.boxShadow !== 'none',
    style: `outline: ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}; `
      + `box-shadow: ${style.boxShadow}`,
  };
}"""
)

TRACK_FOCUS = """() => {
  window.reached = new Set();
  document.addEventListener('focusin', (event) => window.reached.add(event.target));
}"""

# Every rendered control the keyboard could reach that the Tab walk did not.
UNREACHED = (
    "(scope) => {"
    + DESCRIBE
    + """
  const interactive = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), '
    + 'select:not([disabled]), textarea:not([disabled]), summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const all = [...document.querySelector(scope).querySelectorAll(interactive)]
    .filter((el) => el.checkVisibility());
  return {
    count: all.length,
    unreached: all.filter((el) => !window.reached.has(el)).map(describe),
  };
}"""
)

# WCAG 2.x contrast of every visible text under the roots `selector` matches: the text's
# colour (an SVG text's fill) against what lies under it, composited with alpha.
CONTRAST = """(selector) => {
  const parse = (text) => {
    const m = /^rgba?\\(([^)]*)\\)$/.exec(text.trim());
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return [r, g, b, a];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]))
    .concat(1);
  // The WCAG 2.x formula: relative luminance of sRGB, then (L1 + 0.05) / (L2 + 0.05).
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  const ratio = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const WHITE = [255, 255, 255, 1];
  const opaque = (layers) => layers.reverse().reduce((under, top) => over(top, under), WHITE);

  // The HTML background under `el`: its own and its ancestors' background colours, down to
  // the first opaque one (a page with none is white). Background images are not modelled
  // (the page's one, retracted entries' stripes, is of #fff and #faf6f5).
  const htmlBackground = (el) => {
    const layers = [];
    for (let a = el; a; a = a.parentElement) {
      const colour = parse(getComputedStyle(a).backgroundColor);
      if (!colour) return null;
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] === 1) break;
    }
    return opaque(layers);
  };
  const SHAPES = new Set(['rect', 'path', 'circle', 'ellipse', 'polygon']);
  // Under an SVG text: its own halo (a stroke painted first), else the first filled shape
  // under its middle, else the HTML background of its <svg>.
  const svgBackground = (el) => {
    const style = getComputedStyle(el);
    if (style.stroke !== 'none' && style.paintOrder.startsWith('stroke')
        && parseFloat(style.strokeWidth) >= 2) {
      return opaque([parse(style.stroke)]);
    }
    el.scrollIntoView({ block: 'center' });
    const box = el.getBoundingClientRect();
    const under = document.elementsFromPoint(box.x + box.width / 2, box.y + box.height / 2)
      .find((other) => other !== el && SHAPES.has(other.tagName)
        && getComputedStyle(other).fill !== 'none');
    const base = htmlBackground(el.ownerSVGElement);
    if (!under || !base) return base;
    const fill = parse(getComputedStyle(under).fill);
    return fill && over([...fill.slice(0, 3), Number(getComputedStyle(under).fillOpacity)], base);
  };
  const hiddenBy = (el) => {
    for (let a = el; a; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.clip !== 'auto' && style.clip !== '') return true; // .visually-hidden
      if (style.clipPath !== 'none') return true;
    }
    return false;
  };
  const visible = (el) => {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const box = el.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) return false;
    if (box.bottom + window.scrollY <= 0 || box.right + window.scrollX <= 0) return false;
    return !hiddenBy(el);
  };
  const ownText = (el) => [...el.childNodes]
    .filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('')
    .replace(/\\s+/g, ' ').trim();
  const opacity = (el) => {
    let product = 1;
    for (let a = el; a; a = a.parentElement) product *= Number(getComputedStyle(a).opacity);
    return product;
  };
  const FIELDS = 'input[type=text], input[type=password], input[type=date], select, textarea';

  const checked = [];
  const offenders = [];
  const check = (el, text, colourText) => {
    const style = getComputedStyle(el);
    const svg = el instanceof SVGElement;
    const background = svg ? svgBackground(el) : htmlBackground(el);
    const colour = parse(colourText ?? (svg ? style.fill : style.color));
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const entry = { text: text.slice(0, 40),
      el: el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''}`,
      colour: colourText ?? (svg ? style.fill : style.color), size, weight: style.fontWeight };
    if (!colour || !background) {
      offenders.push({ ...entry, problem: 'colour not understood' });
      return;
    }
    const seen = over([...colour.slice(0, 3), colour[3] * opacity(el)], background);
    const value = Math.round(ratio(seen, background) * 100) / 100;
    const needed = large ? 3 : 4.5;
    checked.push(text);
    if (value < needed) {
      offenders.push({ ...entry, background: `rgb(${background.slice(0, 3).join(', ')})`,
        ratio: value, needed });
    }
  };
  for (const root of document.querySelectorAll(selector)) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (!visible(el) || el.closest('select, script, style, title, datalist')
          && !el.matches('select')) continue;
      if (el.matches(FIELDS)) {
        const value = el.matches('select') ? (el.selectedOptions[0]?.text ?? '') : el.value;
        if (value.trim()) check(el, value.trim());
        else if (el.placeholder) {
          check(el, `placeholder: ${el.placeholder}`,
            getComputedStyle(el, '::placeholder').color);
        }
        if (el.matches('input[type=date]') && !value.trim()) check(el, 'date field');
        continue;
      }
      const text = ownText(el);
      if (text) check(el, text);
    }
  }
  return { checked, offenders };
}"""


# ---- the tests -----------------------------------------------------------------------------


def test_every_form_control_on_the_page_has_an_accessible_name(
    page: Page, web_server: Server, corrected: int
) -> None:
    open_page(page, web_server)
    names = dict(cast(list[list[str]], page.evaluate(NAMES)))
    unnamed = [control for control, name in names.items() if not name]
    assert unnamed == [], f"controls without an accessible name: {unnamed}"
    expected = {
        "#conflict": "Conflict",
        "#as-of": "As known on",
        "#at": "State on",
        **{f"#type-{type_}": label for type_, label in TYPES.items()},
        "#actor": "Actor",
        "#location": "Place",
        "#from": "From",
        "#to": "To",
        "#order": "Order",
        "#include-retracted": "Show retracted",
        "#copy-link": "Copy link",
    }
    assert {control: names.get(control) for control in expected} == expected
    badges = [name for control, name in names.items() if ".badge-corrected" in control]
    assert badges == ["Corrected"]  # the one corrected event's history control
    assert len(names) >= len(expected) + 4  # Show, Apply, Clear, the card's chart button

    # Playwright's own accessible-name computation agrees, role by role.
    snapshot = page.locator("body").aria_snapshot()
    controls = [line.strip() for line in snapshot.splitlines() if CONTROL_ROLE.match(line)]
    unnamed_roles = [line for line in controls if not NAMED.match(line)]
    assert unnamed_roles == [], f"unnamed in the ARIA snapshot: {unnamed_roles}"
    assert page.get_by_role("combobox", name="Conflict", exact=True).count() == 1
    assert page.get_by_role("textbox", name="As known on", exact=True).count() == 1
    assert page.get_by_role("textbox", name="State on", exact=True).count() == 1
    assert page.get_by_role("button", name="Corrected", exact=True).count() == 1
    for label in TYPES.values():
        assert page.get_by_role("checkbox", name=label, exact=True).count() == 1, label


def test_tab_reaches_every_control_in_order_with_its_focus_visible(
    page: Page, web_server: Server, corrected: int, screenshots: Path
) -> None:
    open_page(page, web_server)
    page.evaluate(TRACK_FOCUS)
    page.evaluate("() => document.activeElement?.blur()")  # from the top of the page
    assert page.evaluate("() => document.activeElement === document.body")
    order: list[str] = []
    hidden: list[dict[str, Any]] = []
    for _press in range(MOST_TABS):
        page.keyboard.press("Tab")
        focused = cast(dict[str, Any] | None, page.evaluate(FOCUSED))
        if focused is None or (order and focused["key"] == order[0]):
            break  # past the last control, or round to the first
        if not focused["visible"]:
            hidden.append(focused)
        if not order or order[-1] != focused["key"]:
            order.append(focused["key"])
        if focused["key"] == "#type-strike":
            page.screenshot(path=screenshots / "page-keyboard.png")
    else:
        pytest.fail(f"{MOST_TABS} Tab presses never came round: {order}")
    assert hidden == [], f"focus not visible on: {hidden}"
    assert order[0] == 'a.skip-link "Skip to the timeline"'
    landmarks = [
        "#permalink",
        "#conflict",
        "#as-of",
        "#at",
        *(f"#type-{type_}" for type_ in TYPES),
        "#actor",
        "#order",
        "#include-retracted",
    ]
    assert [key for key in order if key in landmarks] == landmarks
    assert [key for key in order if key.startswith("button.badge")] == [
        f'button.badge.badge-corrected[event {GANJA[:8]}] "Corrected"'
    ]
    everywhere = cast(dict[str, Any], page.evaluate(UNREACHED, "body"))
    assert everywhere["unreached"] == [], f"Tab never reached: {everywhere['unreached']}"
    timeline = cast(dict[str, Any], page.evaluate(UNREACHED, "#events"))
    assert timeline["count"] >= 1
    assert timeline["unreached"] == [], f"Tab never reached: {timeline['unreached']}"


def test_the_history_dialog_opens_by_keyboard_takes_focus_and_gives_it_back(
    page: Page, web_server: Server, corrected: int
) -> None:
    open_page(page, web_server)
    badge = page.locator(GANJA_BADGE)
    is_focused = f"() => document.activeElement === document.querySelector('{GANJA_BADGE}')"

    for close_with in ["Escape", "Enter"]:  # Enter on the focused Close button
        badge.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#history")
        dialog.locator(".step-correction").wait_for(timeout=WAIT)
        assert page.evaluate("() => document.getElementById('history').matches(':modal')")
        focused = cast(dict[str, Any], page.evaluate(FOCUSED))
        assert (focused["key"], focused["visible"]) == ("#history-close", True), focused
        assert page.get_by_role("dialog", name="Event history").count() == 1
        page.keyboard.press(close_with)
        page.wait_for_selector("#history:not([open])", state="attached", timeout=WAIT)
        assert page.evaluate(is_focused), close_with

    # What the dialog shows meets contrast too.
    badge.focus()
    page.keyboard.press("Enter")
    page.locator("#history .step-correction").wait_for(timeout=WAIT)
    result = cast(dict[str, Any], page.evaluate(CONTRAST, "#history"))
    assert "As first recorded: Strike" in result["checked"]
    assert result["offenders"] == [], contrast_report(result["offenders"])


@pytest.mark.parametrize(("at", "status"), [("", "violated"), ("2020-10-12", "holding")])
def test_every_visible_text_meets_wcag_aa_contrast(
    page: Page, web_server: Server, corrected: int, at: str, status: str
) -> None:
    open_page(page, web_server, f"&at={at}" if at else "")
    assert page.locator(".card").get_attribute("data-status") == status
    result = cast(dict[str, Any], page.evaluate(CONTRAST, "body"))
    assert result["offenders"] == [], contrast_report(result["offenders"])
    assert status.capitalize() in result["checked"]  # the status badge in words
    assert "Corrected" in result["checked"]  # the history badge
    assert len(result["checked"]) > 100


def test_every_status_badge_colour_meets_contrast(
    page: Page, web_server: Server, corrected: int
) -> None:
    """The seed shows holding and violated; every status's colour is drawn on its card in
    turn (the word stays the seed's: the colour is what differs)."""
    open_page(page, web_server)
    offenders: dict[str, str] = {}
    for status in STATUSES:
        page.evaluate(
            "s => { document.querySelector('.card').className = `card status-${s}`; }", status
        )
        result = cast(dict[str, Any], page.evaluate(CONTRAST, ".card .status-word"))
        assert len(result["checked"]) == 1
        if result["offenders"]:
            offenders[status] = contrast_report(result["offenders"])
    assert offenders == {}


def test_the_chart_has_its_numbers_in_a_table_and_the_map_a_text_alternative(
    page: Page, web_server: Server, corrected: int
) -> None:
    open_page(page, web_server)
    [status] = web_server.get("/v1/ceasefires", conflict=CONFLICT, by_day="true")["items"]
    days = status["breaches_by_day"]
    totals: dict[str, int] = {}
    for day in days:
        for party, n in day["by_party"].items():
            totals[party] = totals.get(party, 0) + n
    parties = sorted(totals, key=lambda party: (-totals[party], party))
    assert [day["day"] for day in days] == ["2020-10-16"]  # the Stepanakert shelling's day
    assert parties == ["Armenia", "Azerbaijan"]

    # The chart's SVG is hidden from screen readers; its numbers are in a table instead.
    assert page.get_attribute("#chart svg.chart-svg", "aria-hidden") == "true"
    caption = f"Counted breaches per day (UTC) of {CEASEFIRE}, by party"
    assert page.inner_text("#chart-table caption") == caption
    assert page.get_by_role("table", name=caption, exact=True).count() == 1
    table = page.locator("#chart-table")
    header = table.locator("thead th").evaluate_all(
        "ths => ths.map((th) => [th.textContent, th.getAttribute('scope')])"
    )
    assert header == [["Day", "col"], ["Total", "col"], *([p, "col"] for p in parties)]
    rows = table.locator("tbody tr").evaluate_all(
        "trs => trs.map((tr) => [...tr.children].map((c) => "
        "`${c.tagName}${c.getAttribute('scope') ? ` ${c.getAttribute('scope')}` : ''}: `"
        " + c.textContent))"
    )
    assert rows == [
        [f"TH row: {day['day']}", f"TD: {day['total']:,}"]
        + [f"TD: {day['by_party'].get(party, 0):,}" for party in parties]
        for day in days
    ]
    assert table.locator("th:not([scope])").count() == 0
    drawn = page.locator("#chart svg text.total").all_text_contents()
    assert drawn == [f"{day['total']:,}" for day in days]  # the bars' totals, in the table

    # The map is one image named by the places it shows, busiest first; each point's
    # tooltip (<title>) says the same of it.
    items = web_server.get("/v1/timeline", conflict=CONFLICT, order="desc", limit=50)["items"]
    by_point: dict[tuple[float, float], list[dict[str, Any]]] = {}
    for item in items:
        location = item.get("location") or {}
        if location.get("lat") is not None and location.get("lon") is not None:
            by_point.setdefault((location["lat"], location["lon"]), []).append(item)
    points = list(by_point.values())
    located = sum(len(p) for p in points)
    assert (located, len(points)) == (6, 3)
    busiest = sorted(points, key=len, reverse=True)
    label = f"Map of {located} located events in {len(points)} places: " + "; ".join(
        describe_place(p) for p in busiest[:12]
    )
    svg = page.locator("#map svg.map-svg")
    assert svg.get_attribute("role") == "img"
    assert svg.get_attribute("aria-label") == label
    assert page.get_by_role("img", name=label, exact=True).count() == 1
    titles = page.locator("#map .place-mark > title").all_text_contents()
    assert titles == [describe_place(p) for p in points]
    assert page.inner_text("#map .caption") == (
        f"{located} of the {len(items)} listed events have coordinates, in {len(points)} "
        "places. Country outlines: Natural Earth, 1:110m."
    )
