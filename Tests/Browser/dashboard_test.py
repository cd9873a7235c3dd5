#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium against a running server.

Live: a ticket posted by webhook appears without a reload, an HTML-like
pipeline name is shown as text, the modal shows the analysis, a correction
is taken by a later ticket of the same failure.

The on-call walk, on a desktop window and again on a phone-sized one:
filter → open the ticket from the keyboard → assign → note → acknowledge
(SLA met, the ticket still open) → resolve with a note (it moves to
Resolved, its timeline holds the note). Also: a sender's Low kept Low with
the reason shown, a deep link opens its ticket, bulk acknowledge, the title
counting open P1s, the audit viewer filtered by ticket, an error shown when
the server cannot be reached, the favicon, contrast of at least 4.5:1 in
both themes, a card layout without sideways scrolling at 390 px, and no
console errors. Screenshots at desktop and phone widths in both themes.

Usage: dashboard_test.py BASE_URL WEBHOOK_TOKEN EMAIL PASSWORD SCREENSHOT_DIR"""
import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import ElementNotInteractableException, NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

base, webhook_token, email, password, shots = sys.argv[1:6]
os.makedirs(shots, exist_ok=True)
XSS = "<img src=x onerror=alert(1)>"
DESKTOP = (1400, 1100)
PHONE = (390, 844)

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
# Rows are redrawn on every live update: an element read a moment ago may be
# gone, or not yet laid out.
wait = WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException, ElementNotInteractableException])
console_errors = []


def step(message):
    print(f"browser: {message}", flush=True)


def collect_console(expected=False):
    """Reads the console since the last call; errors count unless expected (the offline check)."""
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE" and not expected:
            console_errors.append(entry["message"])


def no_alert():
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"a JavaScript alert opened: {text!r}")


def post_alert(pipeline, text, severity="High"):
    body = json.dumps({"resource": pipeline, "error_message": text, "severity": severity}).encode()
    request = urllib.request.Request(f"{base}/webhook/generic", data=body,
                                     headers={"Content-Type": "application/json", "X-RCA-Token": webhook_token})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202, response.status
        return json.load(response)["ticket_ids"][0]


def row(ticket_id):
    rows = driver.find_elements(By.CSS_SELECTOR, f'#ticket-rows tr[data-ticket-id="{ticket_id}"]')
    return rows[0] if rows else None


def row_text(ticket_id):
    try:
        found = row(ticket_id)
        return found.text if found is not None else ""
    except StaleElementReferenceException:
        return ""


def text(element_id):
    return driver.find_element(By.ID, element_id).text


def modal_open():
    return driver.find_element(By.ID, "ticket-modal").get_attribute("open") is not None


def close_modal():
    driver.find_element(By.ID, "modal-close").click()
    wait.until(lambda d: not modal_open())


def theme(dark):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})


def size(width_height):
    driver.set_window_size(*width_height)
    wait.until(lambda d: d.execute_script("return window.innerWidth") <= width_height[0])


def shoot(name):
    driver.save_screenshot(os.path.join(shots, f"{name}.png"))


# WCAG contrast of every visible text against the background it is drawn on.
CONTRAST = """
const parse = (c) => { const m = c.match(/[\\d.]+/g) || []; return m.map(Number); };
const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
function background(node) {
  for (let n = node; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
  }
  return parse(getComputedStyle(document.body).backgroundColor).slice(0, 3);
}
const failures = [];
for (const node of document.querySelectorAll(arguments[0])) {
  if (!node.offsetParent && getComputedStyle(node).position !== "fixed") continue;
  if (![...node.childNodes].some((child) => child.nodeType === 3 && child.textContent.trim())) continue;
  const fg = parse(getComputedStyle(node).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(background(node))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) failures.push(`${node.tagName.toLowerCase()}.${node.className} "${node.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
}
return failures;
"""


def check_contrast(where):
    failures = driver.execute_script(CONTRAST, "body *")
    assert not failures, f"contrast below 4.5:1 ({where}): {failures[:8]}"


def choose(select_id, value):
    wait.until(lambda d: Select(d.find_element(By.ID, select_id)).select_by_value(value) or True)


def click(by, selector):
    """Clicks an element found afresh, again if a live update redrew it between finding and clicking."""
    wait.until(lambda d: d.find_element(by, selector).click() or True)


def in_row(ticket_id, selector):
    """An element of a ticket's row, found afresh until the row holds still."""
    return wait.until(lambda d: row(ticket_id).find_element(By.CSS_SELECTOR, selector))


def in_row_do(ticket_id, selector, action):
    """Acts on an element of a ticket's row, again if a live update redrew the row meanwhile."""
    wait.until(lambda d: action(row(ticket_id).find_element(By.CSS_SELECTOR, selector)) or True)


def both_themes(label):
    """Checks contrast and takes a screenshot in the light theme, then in the dark one."""
    for dark in (False, True):
        theme(dark)
        name = f"{label}-{'dark' if dark else 'light'}"
        check_contrast(name)
        shoot(name)
    theme(dark=False)


def wait_row_status(ticket_id, status):
    wait.until(lambda d: row(ticket_id) is not None and row(ticket_id).get_attribute("data-status") == status)


def walk(ticket_id, label, use_take_button):
    """filter → open from the keyboard → assign → note → acknowledge → resolve with a note."""
    step(f"{label}: filter to the sender's Low")
    choose("filter-severity", "Low")
    wait.until(lambda d: "severity=Low" in d.current_url)
    wait.until(lambda d: row(ticket_id) is not None)
    # The list may be rendered once more as the filter's answer or a live
    # event lands; a row read during that render goes stale, so the check
    # is retried until the list settles.
    wait.until(
        lambda d: all(r.get_attribute("data-ticket-id") and "Low" in r.text for r in d.find_elements(By.CSS_SELECTOR, "#ticket-rows tr")),
        "a filtered list shows only Low tickets, each row with its ticket id",
    )
    shoot(f"{label}-filtered")

    step(f"{label}: open it from the keyboard")
    in_row_do(ticket_id, "a.ticket-link", lambda link: link.send_keys(Keys.ENTER))
    wait.until(lambda d: modal_open())
    wait.until(lambda d: f"#ticket={ticket_id}" in d.current_url)
    wait.until(lambda d: "kept at the sender's Low" in text("modal-severity-reason"))

    step(f"{label}: assign")
    if use_take_button:
        click(By.ID, "take-ticket")
    else:
        choose("modal-assignee", email)
    wait.until(lambda d: f"owner {email}" in text("modal-meta"))

    step(f"{label}: note")
    note = f"checked the upstream export ({label})"
    driver.find_element(By.ID, "note-text").send_keys(note)
    click(By.ID, "note-submit")
    wait.until(lambda d: note in text("modal-notes"))

    step(f"{label}: acknowledge: the SLA is met and the ticket stays open")
    click(By.CSS_SELECTOR, '#modal-actions button[data-action="acknowledged"]')
    wait.until(lambda d: "status acknowledged" in text("modal-meta") and "SLA Met" in text("modal-meta"))
    shoot(f"{label}-acknowledged-modal")
    close_modal()
    wait_row_status(ticket_id, "acknowledged")
    wait.until(lambda d: in_row(ticket_id, "td.sla").text == "Met")

    step(f"{label}: resolve with a note")
    in_row_do(ticket_id, 'button[data-action="resolved"]', lambda button: button.click())
    wait.until(lambda d: d.find_element(By.ID, "resolve-dialog").get_attribute("open") is not None)
    resolution = f"re-ran after the export landed ({label})"
    driver.find_element(By.ID, "resolve-note").send_keys(resolution)
    driver.find_element(By.ID, "resolve-confirm").click()
    wait.until(lambda d: row(ticket_id) is None)
    driver.find_element(By.ID, "tab-closed").click()
    wait_row_status(ticket_id, "resolved")
    in_row_do(ticket_id, "a.ticket-link", lambda link: link.send_keys(Keys.ENTER))
    wait.until(lambda d: modal_open() and resolution in text("modal-timeline"))
    shoot(f"{label}-resolved-modal")
    close_modal()
    driver.find_element(By.ID, "filters-clear").click()
    driver.find_element(By.ID, "tab-open").click()
    wait.until(lambda d: "severity=" not in d.current_url)


try:
    step("the favicon is served")
    with urllib.request.urlopen(f"{base}/favicon.ico") as response:
        assert response.status == 200 and response.headers["Content-Type"] == "image/svg+xml"

    step("sign in")
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait.until(EC.url_contains("/dashboard"))
    wait.until(lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "live")

    step("a webhook's ticket appears without a reload")
    driver.execute_script("window.__sameDocument = true;")
    ticket_id = post_alert(XSS, "java.lang.OutOfMemoryError: Java heap space")
    wait.until(lambda d: row(ticket_id) is not None)
    assert driver.execute_script("return window.__sameDocument === true;"), "the page was reloaded"
    pipeline_cell = in_row(ticket_id, "td.pipeline")
    assert pipeline_cell.text == XSS, f"pipeline shown as {pipeline_cell.text!r}"
    assert not driver.find_elements(By.CSS_SELECTOR, "#ticket-rows img"), "the pipeline name became an <img> element"
    wait.until(lambda d: "ran out of memory" in row_text(ticket_id))
    no_alert()

    step("the modal shows the analysis")
    in_row_do(ticket_id, "td.pipeline", lambda cell: cell.click())
    wait.until(lambda d: modal_open())
    wait.until(lambda d: "ran out of memory" in text("modal-root-cause"))
    assert XSS in text("modal-title"), text("modal-title")
    assert not driver.find_elements(By.CSS_SELECTOR, "#ticket-modal img")
    assert driver.find_elements(By.CSS_SELECTOR, "#modal-recommendations li"), "no recommendations"
    assert "OutOfMemoryError" in text("modal-error")
    shoot("ticket-modal")

    step("correct the analysis from the modal")
    driver.find_element(By.CSS_SELECTOR, "#correction summary").click()
    choose("correction-category", "configuration_error")
    for field, value in (("correction-error-type", "EXECUTOR_MEMORY_TOO_LOW"),
                         ("correction-root-cause", "The last deploy set spark.executor.memory to 1g"),
                         ("correction-evidence", "Java heap space")):
        driver.find_element(By.ID, field).clear()
        driver.find_element(By.ID, field).send_keys(value)
    driver.find_element(By.ID, "correction-submit").click()
    wait.until(lambda d: "category configuration_error" in text("modal-classification"))
    assert "engine responder" in text("modal-classification") and "EXECUTOR_MEMORY_TOO_LOW" in text("modal-classification")
    assert "spark.executor.memory" in text("modal-root-cause")
    assert text("correction-status") == "", text("correction-status")
    close_modal()

    step("a later ticket of the same failure takes the correction")
    later_id = post_alert("pl_same_failure_elsewhere", "java.lang.OutOfMemoryError: Java heap space")
    wait.until(lambda d: "spark.executor.memory" in row_text(later_id))

    step("the title counts open P1s")
    urgent_id = post_alert("billing_close", "FATAL: password authentication failed for user \"etl\"", severity="Critical")
    wait.until(lambda d: "(1 open P1) RCA Assistant" == d.title)

    step("a deep link opens its ticket")
    driver.get(f"{base}/dashboard#ticket={urgent_id}")
    wait.until(lambda d: modal_open() and urgent_id in text("modal-title"))
    close_modal()
    assert "#ticket=" not in driver.current_url

    step("bulk acknowledge")
    wait.until(lambda d: row(ticket_id) is not None and row(later_id) is not None)
    for selected in (ticket_id, later_id):
        in_row_do(selected, "input.select-ticket", lambda box: box.click())
    wait.until(lambda d: text("bulk-count") == "2 selected")
    driver.find_element(By.ID, "bulk-acknowledge").click()
    wait_row_status(ticket_id, "acknowledged")
    wait_row_status(later_id, "acknowledged")
    assert driver.find_element(By.ID, "bulk-bar").get_attribute("hidden") is not None

    step("the column headers sort the list")
    driver.find_element(By.CSS_SELECTOR, 'button.sort[data-sort="newest"]').click()
    wait.until(lambda d: "sort=newest" in d.current_url)
    driver.find_element(By.CSS_SELECTOR, 'button.sort[data-sort="newest"]').click()
    wait.until(lambda d: "sort=oldest" in d.current_url)
    wait.until(lambda d: [r.get_attribute("data-ticket-id") for r in d.find_elements(By.CSS_SELECTOR, "#ticket-rows tr")][:1] == [ticket_id])
    driver.find_element(By.ID, "filters-clear").click()
    wait.until(lambda d: "sort=" not in d.current_url)

    step("desktop, light and dark")
    both_themes("desktop")

    walk(post_alert("walk_desktop_load", "step 4 ended with status 3", severity="Low"), "desktop", use_take_button=False)

    step("the audit viewer filters by ticket and links to it")
    driver.find_element(By.ID, "audit-ticket").send_keys(urgent_id)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#audit-rows tr") and all(
        urgent_id in r.text for r in d.find_elements(By.CSS_SELECTOR, "#audit-rows tr")))
    driver.find_element(By.CSS_SELECTOR, "#audit-rows a.ticket-link").click()
    wait.until(lambda d: modal_open() and urgent_id in text("modal-title"))
    close_modal()
    driver.find_element(By.ID, "audit-ticket").clear()

    step("a ticket opened while the server cannot be reached says so")
    collect_console()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    in_row_do(urgent_id, "a.ticket-link", lambda link: link.click())
    wait.until(lambda d: d.find_element(By.ID, "error-banner").get_attribute("hidden") is None)
    assert "cannot be reached" in text("error-text"), text("error-text")
    shoot("offline-error")
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    step("back online, the same link opens the ticket and the error goes away")
    in_row_do(urgent_id, "a.ticket-link", lambda link: link.click())
    wait.until(lambda d: modal_open() and urgent_id in text("modal-title"))
    assert driver.find_element(By.ID, "error-banner").get_attribute("hidden") is not None
    close_modal()
    wait.until(lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "live")
    collect_console(expected=True)

    step("phone: cards, no sideways scrolling, light and dark")
    size(PHONE)
    wait.until(lambda d: d.execute_script("return getComputedStyle(document.querySelector('#ticket-rows tr')).display") == "block")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {PHONE[0]}px"
    driver.execute_script("document.querySelector('.tickets').scrollIntoView()")
    both_themes("phone")

    walk(post_alert("walk_phone_load", "step 7 ended with status 2", severity="Low"), "phone", use_take_button=True)

    size(DESKTOP)
    no_alert()
    collect_console()
    assert not console_errors, f"console errors: {console_errors}"
    step("passed")
except Exception:
    shoot("failure")
    with open(os.path.join(shots, "failure.html"), "w") as page:
        page.write(driver.page_source)
    raise
finally:
    driver.quit()
