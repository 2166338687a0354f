#!/usr/bin/python3
"""fleet-alerts.py URL LOG -- logs every state change of Prometheus's alerts, from its HTTP API.

Polls URL/api/v1/alerts every 250 ms and appends one line per change to LOG:
    <epoch seconds> <alertname> <host label, else job label, else -> <state> <activeAt epoch>
where state is pending, firing or inactive (the alert left the list: resolved). activeAt is
when Prometheus first saw the expression true ("-" for inactive). A line "<epoch> - - error
<text>" records a failed poll (once per run of failures). The fleet's scenarios read LOG to
report when an alert went pending, fired and cleared; their pass/fail checks query the API
themselves.
"""
import datetime
import json
import sys
import time
import urllib.request


def epoch(rfc3339):
    # "2026-11-30T05:30:01.123456789Z": Python parses at most microseconds
    s = rfc3339.rstrip("Z")
    if "." in s:
        head, frac = s.split(".", 1)
        s = head + "." + frac[:6]
    d = datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


def main():
    url, log = sys.argv[1].rstrip("/") + "/api/v1/alerts", sys.argv[2]
    out = open(log, "a", buffering=1)
    state = {}
    failing = False
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                alerts = json.load(r)["data"]["alerts"]
            failing = False
        except Exception as e:  # Prometheus busy or restarting: say so once, keep polling
            if not failing:
                out.write("%.3f - - error %s\n" % (time.time(), str(e).replace("\n", " ")))
            failing = True
            time.sleep(0.25)
            continue
        now = time.time()
        seen = {}
        for a in alerts:
            lab = a.get("labels", {})
            key = (lab.get("alertname", "?"), lab.get("host") or lab.get("job") or "-")
            seen[key] = (a.get("state", "?"), a.get("activeAt"))
        for key, (st, active) in sorted(seen.items()):
            if state.get(key) != st:
                out.write("%.3f %s %s %s %s\n" % (now, key[0], key[1], st,
                                                  "%.3f" % epoch(active) if active else "-"))
        for key in sorted(set(state) - set(seen)):
            out.write("%.3f %s %s inactive -\n" % (now, key[0], key[1]))
        state = {k: v[0] for k, v in seen.items()}
        time.sleep(0.25)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
