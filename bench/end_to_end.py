#!/usr/bin/env python3
"""The load and the measurement of bench/end-to-end.sh: sends distinct Data
Factory failures on a fixed schedule (open loop: a slow answer does not slow
the sending), then waits for each ticket's first Slack message and reports
webhook and end-to-end latency percentiles and the server's peak RSS."""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

import alerts

port, token, rate, seconds, slack, server_pid = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
run = f"e2e-{int(time.time())}"


def post(number):
    return alerts.post(port, token, run, number)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def peak_rss_mib():
    with open(f"/proc/{server_pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024


count = int(rate * seconds)
start = time.time() + 0.5
futures = []
with ThreadPoolExecutor(32) as pool:
    for number in range(count):
        delay = start + number / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        futures.append(pool.submit(post, number))
    results = [future.result() for future in futures]
lag = max(sent - (start + number / rate) for number, (sent, _, _) in enumerate(results))

deadline = time.time() + 120
while True:
    posted = json.load(urlopen(f"{slack}/api/posted"))
    if all(ticket in posted for _, _, ticket in results) or time.time() > deadline:
        break
    time.sleep(0.5)
counts = json.load(urlopen(f"{slack}/api/counts"))
missing = [ticket for _, _, ticket in results if ticket not in posted]
webhook = [answered - sent for sent, answered, _ in results]
end_to_end = [posted[ticket] - sent for sent, _, ticket in results if ticket in posted]
print(
    f"rate={rate:g}/s seconds={seconds:g} alerts={count} sender_lag_max={lag * 1000:.0f}ms "
    f"webhook_p50={percentile(webhook, 0.5) * 1000:.1f}ms webhook_p99={percentile(webhook, 0.99) * 1000:.1f}ms "
    f"end_to_end_p50={percentile(end_to_end, 0.5) * 1000:.1f}ms end_to_end_p99={percentile(end_to_end, 0.99) * 1000:.1f}ms "
    f"end_to_end_max={max(end_to_end) * 1000:.1f}ms slack_posts={counts['chat.postMessage']} peak_rss_mib={peak_rss_mib()}"
)
assert not missing, f"{len(missing)} tickets never reached Slack, e.g. {missing[:3]}"
assert counts["chat.postMessage"] == count, f"{counts['chat.postMessage']} messages for {count} alerts"
