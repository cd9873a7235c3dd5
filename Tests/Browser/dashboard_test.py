#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium against a running server:
signs in, watches a ticket posted by webhook appear without a reload,
opens it, corrects its analysis and sees a later ticket of the same failure
take the correction, acknowledges it, sees it move to Closed with its SLA
status, and checks that a pipeline named like an HTML tag is shown as text.

Usage: dashboard_test.py BASE_URL WEBHOOK_TOKEN EMAIL PASSWORD SCREENSHOT_DIR"""
import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

base, webhook_token, email, password, shots = sys.argv[1:6]
os.makedirs(shots, exist_ok=True)
XSS = "<img src=x onerror=alert(1)>"

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
wait = WebDriverWait(driver, 30)


def step(message):
    print(f"browser: {message}", flush=True)


def no_alert():
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"a JavaScript alert opened: {text!r}")


def post_alert(pipeline, text):
    body = json.dumps({"resource": pipeline, "error_message": text, "severity": "High"}).encode()
    request = urllib.request.Request(f"{base}/webhook/generic", data=body,
                                     headers={"Content-Type": "application/json", "X-RCA-Token": webhook_token})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202, response.status
        return json.load(response)["ticket_ids"][0]


def row(ticket_id):
    rows = driver.find_elements(By.CSS_SELECTOR, f'tr[data-ticket-id="{ticket_id}"]')
    return rows[0] if rows else None


def row_text(ticket_id):
    try:
        found = row(ticket_id)
        return found.text if found is not None else ""
    except StaleElementReferenceException:
        return ""


try:
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
    pipeline_cell = row(ticket_id).find_element(By.CSS_SELECTOR, "td.pipeline")
    assert pipeline_cell.text == XSS, f"pipeline shown as {pipeline_cell.text!r}"
    assert not driver.find_elements(By.CSS_SELECTOR, "#ticket-rows img"), "the pipeline name became an <img> element"
    wait.until(lambda d: "analyzing" not in row(ticket_id).text)
    no_alert()
    driver.save_screenshot(os.path.join(shots, "dashboard.png"))

    step("the modal shows the analysis")
    row(ticket_id).click()
    wait.until(lambda d: d.find_element(By.ID, "ticket-modal").get_attribute("open") is not None)
    wait.until(lambda d: "ran out of memory" in d.find_element(By.ID, "modal-root-cause").text)
    title = driver.find_element(By.ID, "modal-title").text
    assert XSS in title, f"modal title {title!r}"
    assert not driver.find_elements(By.CSS_SELECTOR, "#ticket-modal img")
    assert driver.find_elements(By.CSS_SELECTOR, "#modal-recommendations li"), "no recommendations"
    assert "OutOfMemoryError" in driver.find_element(By.ID, "modal-error").text
    driver.save_screenshot(os.path.join(shots, "ticket-modal.png"))

    step("correct the analysis from the modal")
    driver.find_element(By.CSS_SELECTOR, "#correction summary").click()
    Select(driver.find_element(By.ID, "correction-category")).select_by_value("configuration_error")
    error_type = driver.find_element(By.ID, "correction-error-type")
    error_type.clear()
    error_type.send_keys("EXECUTOR_MEMORY_TOO_LOW")
    root_cause = driver.find_element(By.ID, "correction-root-cause")
    root_cause.clear()
    root_cause.send_keys("The last deploy set spark.executor.memory to 1g")
    evidence = driver.find_element(By.ID, "correction-evidence")
    evidence.clear()
    evidence.send_keys("Java heap space")
    driver.find_element(By.ID, "correction-submit").click()
    wait.until(lambda d: "category configuration_error" in d.find_element(By.ID, "modal-classification").text)
    classification = driver.find_element(By.ID, "modal-classification").text
    assert "engine responder" in classification and "EXECUTOR_MEMORY_TOO_LOW" in classification, classification
    assert "spark.executor.memory" in driver.find_element(By.ID, "modal-root-cause").text
    assert driver.find_element(By.ID, "correction-status").text == "", driver.find_element(By.ID, "correction-status").text
    driver.save_screenshot(os.path.join(shots, "corrected.png"))

    step("a later ticket of the same failure takes the correction")
    later_id = post_alert("pl_same_failure_elsewhere", "java.lang.OutOfMemoryError: Java heap space")
    wait.until(lambda d: "EXECUTOR_MEMORY_TOO_LOW" in row_text(later_id))

    step("acknowledge from the modal")
    driver.find_element(By.CSS_SELECTOR, '#modal-actions button[data-action="acknowledged"]').click()
    wait.until(lambda d: "status acknowledged" in d.find_element(By.ID, "modal-meta").text)
    driver.find_element(By.ID, "modal-close").click()
    wait.until(lambda d: row(ticket_id) is None)

    step("it is in Closed with its SLA status")
    driver.find_element(By.ID, "tab-closed").click()

    def closed_with_sla(d):
        try:
            found = row(ticket_id)
            return found is not None and found.find_element(By.CSS_SELECTOR, "td.sla").text == "Met"
        except StaleElementReferenceException:
            return False

    wait.until(closed_with_sla)
    assert driver.find_element(By.ID, "count-closed").text == "1"
    no_alert()
    driver.save_screenshot(os.path.join(shots, "closed.png"))
    step("passed")
except Exception:
    driver.save_screenshot(os.path.join(shots, "failure.png"))
    with open(os.path.join(shots, "failure.html"), "w") as page:
        page.write(driver.page_source)
    raise
finally:
    driver.quit()
