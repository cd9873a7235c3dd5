"""Distinct Data Factory failures for the benchmarks: alert NUMBER of a run
has its own pipeline run id and pipeline name, so each opens its own ticket."""
import http.client
import json
import threading
import time

template = open("bench/adf-alert.json").read()
local = threading.local()


def post(port, token, run, number):
    """Posts alert `number` of `run` on this thread's kept-open connection;
    returns when it was sent and answered (Unix time) and its ticket id."""
    body = template.replace("RUN_ID_PLACEHOLDER", f"{run}-{number}").replace("DataIngestionPipeline", f"{run}-pipeline-{number}")
    if not hasattr(local, "connection"):
        local.connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    sent = time.time()
    local.connection.request("POST", "/azure-monitor", body=body, headers={"Content-Type": "application/json", "X-RCA-Token": token})
    response = local.connection.getresponse()
    answer = json.loads(response.read())
    answered = time.time()
    assert response.status == 202 and answer["status"] == "accepted", (response.status, answer)
    return sent, answered, answer["ticket_ids"][0]
