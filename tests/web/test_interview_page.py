"""The interview page of ``triage serve`` in headless Chromium, against the real service.

The service runs as ``triage serve protocols/`` on a fresh SQLite file, with a token made
by ``triage token create``. A whole call goes through the page (a wrong answer first:
the service's message is shown beside the field and nothing is stored), then the outcome
is checked against the interpreter run in-process on the same answers, overridden with a
reason, and the call closed: the sealed record the page shows verifies. A second call
uses only key presses. Skips with the reason when chromium, chromedriver or selenium is
missing (``tools/setup.sh`` installs them on Debian when run as root).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import missing, module_fixtures
from tests.web.live_service import PROTOCOLS, LiveService, running_service
from triage_dsl import evaluate, load
from triage_dsl.record.verify import verify

MISSING = missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

WAIT = 20.0


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with running_service(tmp_path_factory.mktemp("serve")) as live:
        yield live


browser, shots = module_fixtures(width=1200)


# ---------------------------------------------------------------------- helpers
def wait_for(what: str, condition: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def visible(browser: Any, element_id: str) -> bool:
    script = f"const e = document.getElementById('{element_id}'); return e && !e.hidden"
    return bool(browser.execute_script(script))


def active_id(browser: Any) -> str:
    return str(browser.switch_to.active_element.get_attribute("id") or "")


def fresh_page(browser: Any, service: LiveService) -> None:
    """The page as a new tab sees it: no token kept, no console messages left over."""
    browser.get(service.url + "/")
    browser.execute_script("sessionStorage.clear()")
    browser.get(service.url + "/")
    browser.get_log("browser")
    wait_for("the sign-in form", lambda: visible(browser, "token-panel"))


def start_call(browser: Any, service: LiveService, protocol_id: str) -> None:
    """Sign in on a fresh page and start a call of ``protocol_id``."""
    from selenium.webdriver.support.ui import Select

    fresh_page(browser, service)
    browser.find_element("id", "token").send_keys(service.token)
    browser.find_element("css selector", "#token-form button[type=submit]").click()
    wait_for("the protocol list", lambda: visible(browser, "protocol-panel"))
    Select(browser.find_element("id", "protocol")).select_by_value(protocol_id)
    browser.find_element("css selector", "#protocol-form button[type=submit]").click()


def console_problems(browser: Any, expected_statuses: tuple[int, ...] = ()) -> list[str]:
    """Console errors and warnings, but for the network errors the test provoked (Chromium
    logs every 4xx answer, also those the page handles)."""
    expected = tuple(f"status of {status} " for status in expected_statuses)
    return [
        e["message"]
        for e in browser.get_log("browser")
        if e["level"] in ("SEVERE", "WARNING")
        and not ("Failed to load resource" in e["message"] and any(x in e["message"] for x in expected))
    ]


class Step:
    """What the page shows now, read in one go: a question (id, type, number) or the outcome."""

    def __init__(self, browser: Any) -> None:
        shown = browser.execute_script(
            "const f = document.getElementById('answer-form');"
            "return [!document.getElementById('outcome-panel').hidden,"
            " !document.getElementById('question-panel').hidden,"
            " f.dataset.question || null, f.dataset.type || null,"
            " document.getElementById('question-number').textContent];"
        )
        self.outcome, self.asking = bool(shown[0]), bool(shown[1])
        self.question: str | None = None if self.outcome else shown[2]
        self.type: str | None = shown[3]
        self.number: str = shown[4]


def next_step(browser: Any, after: str | None) -> Step:
    """Wait for a new question (its number differs from ``after``) or the outcome."""

    def ready() -> Step | None:
        step = Step(browser)
        if step.outcome or (step.asking and step.number != after):
            return step
        return None

    found: Step = wait_for("the next question or the outcome", ready)
    return found


def call_state(service: LiveService, call_id: str) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/v1/calls/{call_id}", headers=service.headers(), timeout=10)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def next_question(service: LiveService, call_id: str) -> dict[str, Any]:
    question: dict[str, Any] = call_state(service, call_id)["next_question"]
    return question


def middle(question: dict[str, Any]) -> int | float:
    low, high = question["range"]
    value = (low + high) / 2
    return round(value) if question["type"] == "whole number" else round(value, 1)


def typed(value: int | float) -> str:
    return str(value)


def check_outcome(browser: Any, protocol_id: str, answers: dict[str, Any]) -> Any:
    """The page shows the disposition the interpreter gives for the same answers."""
    expected = evaluate(load(_protocol_file(protocol_id)), answers)
    assert expected.status == "complete" and expected.disposition is not None
    outcome = browser.find_element("id", "outcome").text
    assert f"({expected.disposition.id})" in outcome
    assert expected.disposition.label in outcome
    if expected.urgency is not None:
        assert expected.urgency.label in outcome
    for advice in expected.disposition.care_advice:
        assert advice in outcome
    if expected.escalation is not None:
        assert expected.escalation.fallback in outcome
    note = wait_for("the triage note", lambda: browser.find_element("id", "note").text.strip())
    assert expected.disposition.label in note
    return expected


def _protocol_file(protocol_id: str) -> Path:
    found = [p for p in PROTOCOLS.rglob(f"{protocol_id}.triage") if load(p).id == protocol_id]
    assert len(found) == 1, f"protocol {protocol_id}: {found}"
    return found[0]


# ---------------------------------------------------------------------- the tests
def test_the_page_loads_from_the_service_alone(service: LiveService, browser: Any) -> None:
    response = httpx.get(service.url + "/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "http://" not in response.text and "https://" not in response.text
    for asset in ("/static/interview.js", "/static/interview.css"):
        text = httpx.get(service.url + asset, timeout=10).text
        assert "http://" not in text and "https://" not in text, asset
    assert httpx.get(service.url + "/static/page.py", timeout=10).status_code == 404
    fresh_page(browser, service)
    assert browser.execute_script("return document.documentElement.lang") == "en"
    labelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => !e.labels || e.labels.length === 0).map(e => e.id)"
    )
    assert labelled == []
    assert console_problems(browser) == []


def test_a_wrong_token_is_refused_on_the_page(service: LiveService, browser: Any) -> None:
    fresh_page(browser, service)
    browser.find_element("id", "token").send_keys("not-a-token")
    browser.find_element("css selector", "#token-form button[type=submit]").click()
    error = wait_for("the token error", lambda: visible(browser, "token-error"))
    assert error
    assert "401" in browser.find_element("id", "token-error").text
    assert browser.find_element("id", "token").get_attribute("aria-invalid") == "true"
    assert browser.execute_script("return sessionStorage.getItem('triage.token')") is None


def test_a_whole_call_through_the_page(
    service: LiveService, browser: Any, shots: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    start_call(browser, service, "fever_child")

    answers: dict[str, Any] = {}
    wrong_answer_seen = unknown_given = False
    step = next_step(browser, None)
    call_id = browser.find_element("id", "call-id").text
    for _ in range(80):
        if step.outcome:
            break
        assert step.question is not None
        question = next_question(service, call_id)
        assert question["id"] == step.question
        if step.type == "yes/no":
            browser.find_element("xpath", "//button[text()='No']").click()
            answers[step.question] = False
        elif step.type in ("age", "duration"):
            amount, unit = ("3", "years") if step.type == "age" else ("1", "days")
            browser.find_element("id", "answer-amount").send_keys(amount)
            Select(browser.find_element("id", "answer-unit")).select_by_value(unit)
            browser.find_element("xpath", "//button[text()='Next']").click()
            answers[step.question] = f"{amount} {unit}"
        elif step.type in ("number", "whole number"):
            field = browser.find_element("id", "answer-value")
            if not wrong_answer_seen:
                wrong_answer_seen = True
                too_high = question["range"][1] + 100
                field.send_keys(typed(too_high))
                browser.find_element("xpath", "//button[text()='Next']").click()
                wait_for("the answer error", lambda: visible(browser, "answer-error"))
                message = browser.find_element("id", "answer-error").text
                assert "outside the valid range" in message, message
                assert step.question in message
                assert field.get_attribute("aria-invalid") == "true"
                assert active_id(browser) == "answer-value"
                browser.save_screenshot(str(shots / "wrong-answer.png"))
                # nothing was stored: the service still asks the same question
                assert next_question(service, call_id)["id"] == step.question
                field.clear()
            if question["unknown_allowed"] and not unknown_given:
                unknown_given = True  # the caller has no thermometer reading
                browser.find_element("xpath", '//button[text()="Don\'t know"]').click()
                answers[step.question] = "unknown"
            else:
                value = middle(question)
                field.send_keys(typed(value))
                browser.find_element("xpath", "//button[text()='Next']").click()
                answers[step.question] = value
        else:
            raise AssertionError(f"fever_child asks no {step.type} question")
        step = next_step(browser, step.number)
    assert step.outcome, "the call did not reach an outcome"
    assert wrong_answer_seen and unknown_given
    assert active_id(browser) == "outcome-heading"
    expected = check_outcome(browser, "fever_child", answers)
    browser.save_screenshot(str(shots / "outcome.png"))

    # override with a reason: to another disposition of the protocol
    protocol = load(_protocol_file("fever_child"))
    assert expected.disposition is not None
    target = next(d for d in protocol.plan.dispositions if d != expected.disposition.id)
    offered = browser.find_elements("css selector", "#override-dispositions option")
    assert sorted(o.get_attribute("value") for o in offered) == sorted(protocol.plan.dispositions)
    browser.find_element("id", "override-disposition").send_keys(target)
    browser.find_element("id", "override-by").send_keys("RN-7")
    browser.find_element("id", "override-reason").send_keys("caller's situation, discussed with the GP")
    browser.find_element("css selector", "#override-form button[type=submit]").click()
    wait_for("the override", lambda: "Overridden to" in browser.find_element("id", "outcome").text)
    assert f"({target}) by RN-7" in browser.find_element("id", "outcome").text

    # close: the sealed record is shown, downloadable, and verifies
    browser.find_element("id", "close-call").click()
    wait_for("the sealed record", lambda: visible(browser, "record-panel"))
    assert active_id(browser) == "record-heading"
    link = browser.find_element("id", "record-download")
    assert link.get_attribute("download") == f"record-{call_id}.json"
    link.click()
    saved = downloads / f"record-{call_id}.json"
    wait_for("the downloaded record", lambda: saved.is_file() and saved.stat().st_size > 0)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["seal"]["head"] in browser.find_element("id", "record-summary").text
    assert [o["disposition"]["id"] for o in record["overrides"]] == [target]
    verification = verify(record, protocol, allow_unkeyed=True)
    assert verification.ok, verification.problems
    logged = [e for e in record["answer_log"] if e["question"] == "temperature_c"]
    assert len(logged) == 1 and logged[0]["problem"] is None, logged  # the wrong answer was never stored
    browser.save_screenshot(str(shots / "sealed-record.png"))
    assert console_problems(browser, expected_statuses=(422,)) == []


def test_a_call_by_keyboard_alone(service: LiveService, browser: Any, shots: Path) -> None:
    """Only key presses reach the page: Tab, Enter, Space, arrows and typing."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def press(*keys: str) -> None:
        ActionChains(browser).send_keys(*keys).perform()

    def tab_to(element_id: str, limit: int = 25) -> None:
        for _ in range(limit):
            if active_id(browser) == element_id:
                return
            press(Keys.TAB)
        assert active_id(browser) == element_id, f"Tab never reached #{element_id}"

    fresh_page(browser, service)
    tab_to("token")
    press(service.token, Keys.ENTER)
    wait_for("the protocol list", lambda: active_id(browser) == "protocol")
    options = browser.execute_script(
        "return [...document.getElementById('protocol').options].map(o => o.value)"
    )
    for _ in range(options.index("news2")):
        press(Keys.ARROW_DOWN)
    assert browser.execute_script("return document.getElementById('protocol').value") == "news2"
    press(Keys.TAB, Keys.ENTER)

    answers: dict[str, Any] = {}
    wrong_answer_seen = False
    step = next_step(browser, None)
    call_id = browser.find_element("id", "call-id").text
    for _ in range(40):
        if step.outcome:
            break
        assert step.question is not None
        question = next_question(service, call_id)
        if step.type == "yes/no":
            assert browser.switch_to.active_element.text == "Yes"
            press(Keys.TAB, Keys.SPACE)  # No
            answers[step.question] = False
        elif step.type == "choice":
            assert browser.switch_to.active_element.get_attribute("type") == "radio"
            press(Keys.ARROW_DOWN)  # the second option
            answers[step.question] = question["options"][1]["id"]
            press(Keys.TAB, Keys.ENTER)
        elif step.type in ("number", "whole number"):
            assert active_id(browser) == "answer-value"
            if not wrong_answer_seen:
                wrong_answer_seen = True
                press("twelve", Keys.ENTER)
                wait_for("the answer error", lambda: visible(browser, "answer-error"))
                assert "expected a number" in browser.find_element("id", "answer-error").text
                assert active_id(browser) == "answer-value"
                press(*[Keys.BACKSPACE] * len("twelve"))
            value = middle(question)
            press(typed(value), Keys.ENTER)
            answers[step.question] = value
        else:
            raise AssertionError(f"news2 asks no {step.type} question")
        step = next_step(browser, step.number)
    assert step.outcome and wrong_answer_seen
    check_outcome(browser, "news2", answers)

    tab_to("close-call")
    press(Keys.ENTER)
    wait_for("the sealed record", lambda: visible(browser, "record-panel"))
    assert active_id(browser) == "record-heading"
    tab_to("record-download")
    browser.save_screenshot(str(shots / "keyboard-sealed-record.png"))
    tab_to("new-call")
    press(Keys.ENTER)
    wait_for("the protocol list again", lambda: active_id(browser) == "protocol")
    assert console_problems(browser, expected_statuses=(422,)) == []


def test_weeks_and_days_typed_as_the_maternity_notes_write_them(service: LiveService, browser: Any) -> None:
    """36+6 typed on the page reaches the service as 36 + 6/7 weeks (before 37, so the
    preterm-labour signs still count), as `triage run` reads it; 36+7 is refused."""

    start_call(browser, service, "pregnancy_concern")

    answers: dict[str, Any] = {}
    step = next_step(browser, None)
    call_id = browser.find_element("id", "call-id").text
    for _ in range(80):
        if step.outcome:
            break
        assert step.question is not None
        if step.type == "yes/no":
            yes = step.question == "period_like_cramps"
            browser.find_element("xpath", f"//button[text()='{'Yes' if yes else 'No'}']").click()
            answers[step.question] = yes
        elif step.type == "choice":
            assert step.question == "stage"
            browser.find_element("css selector", 'input[name="choice"][value="pregnant"]').click()
            browser.find_element("xpath", "//button[text()='Next']").click()
            answers["stage"] = "pregnant"
        elif step.question == "weeks_pregnant":
            assert "36+6" in browser.find_element("id", "answer-form").text  # the help says so
            field = browser.find_element("id", "answer-value")
            field.send_keys("36+7")
            browser.find_element("xpath", "//button[text()='Next']").click()
            wait_for("the answer error", lambda: visible(browser, "answer-error"))
            assert next_question(service, call_id)["id"] == "weeks_pregnant"  # nothing stored
            field.clear()
            field.send_keys("36+6")
            browser.find_element("xpath", "//button[text()='Next']").click()
            answers["weeks_pregnant"] = 36 + 6 / 7
        else:
            raise AssertionError(f"unexpected question {step.question} ({step.type})")
        step = next_step(browser, step.number)
    assert step.outcome, "the call did not reach an outcome"
    assert call_state(service, call_id)["result"]["answers"]["weeks_pregnant"] == 36 + 6 / 7
    expected = check_outcome(browser, "pregnancy_concern", answers)
    assert expected.disposition.id == "maternity_unit_now"
    assert console_problems(browser, expected_statuses=(422,)) == []


def test_a_reloaded_page_continues_the_same_call(service: LiveService, browser: Any) -> None:
    """The call's id is in the address: a reload (or a restored tab) goes on at the
    service's next question with every answer kept, and a closed call opens on its
    sealed record."""

    start_call(browser, service, "qsofa")
    step = next_step(browser, None)
    call_id = browser.find_element("id", "call-id").text
    assert browser.current_url.endswith(f"#call={call_id}")
    assert step.question == "resp_rate"
    browser.find_element("id", "answer-value").send_keys("25")
    browser.find_element("xpath", "//button[text()='Next']").click()
    step = next_step(browser, step.number)
    assert step.question == "altered_mentation"

    browser.refresh()  # the page is gone and comes back: same tab, same address
    wait_for("the same call", lambda: browser.find_element("id", "call-id").text == call_id)
    step = next_step(browser, None)
    assert step.question == "altered_mentation" == next_question(service, call_id)["id"]
    browser.find_element("xpath", "//button[text()='Yes']").click()
    step = next_step(browser, step.number)
    assert step.outcome
    check_outcome(browser, "qsofa", {"resp_rate": 25, "altered_mentation": True})
    browser.find_element("id", "close-call").click()
    wait_for("the sealed record", lambda: visible(browser, "record-panel"))
    head = call_state(service, call_id)["result"]["seal"]["head"]

    browser.refresh()  # a closed call opens on its record
    wait_for("the sealed record again", lambda: visible(browser, "record-panel"))
    assert head in browser.find_element("id", "record-summary").text
    answers = [e for e in call_state(service, call_id)["result"]["answer_log"] if e["kind"] == "answer"]
    assert [e["question"] for e in answers] == ["resp_rate", "altered_mentation"]  # nothing asked twice

    browser.find_element("id", "new-call").click()  # a new call leaves the old one's address
    wait_for("the protocol list", lambda: visible(browser, "protocol-panel"))
    assert "#call=" not in browser.current_url
    assert console_problems(browser) == []
