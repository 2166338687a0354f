#!/usr/bin/python3
"""fleet-dashboard.py URL DASHBOARD.json JOB RATE_INTERVAL -- runs a Grafana dashboard's PromQL
against a Prometheus server through its HTTP API, as Grafana would (no Grafana needed).

Grafana's variables are replaced first: $job (and ${job}) by JOB, $__rate_interval by
RATE_INTERVAL; any other "$" left in an expression is an error. Each template variable of type
query, label_values(METRIC, LABEL), is asked of /api/v1/label/LABEL/values?match[]=METRIC and must
list JOB. Prints one tab-separated line per query:
    ok <tab> <panel or variable> <tab> <number of series> <tab> <expression>
    fail <tab> <panel or variable> <tab> <why> <tab> <expression>
and exits 1 if any failed (or the file is not a dashboard).
"""
import json
import re
import sys
import urllib.parse
import urllib.request


def get(url, path, params):
    q = urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen("%s/api/v1/%s?%s" % (url, path, q), timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400 with Prometheus's error text: a parse error
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": "HTTP %d" % e.code}
    except Exception as e:
        return {"status": "error", "error": str(e)}


def panels(d):
    for p in d.get("panels", []):
        yield p
        yield from panels(p)  # rows hold panels of their own


def main():
    url, path, job, rate = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]
    d = json.load(open(path))
    bad = 0

    def out(ok, title, what, expr):
        nonlocal bad
        bad += not ok
        print("%s\t%s\t%s\t%s" % ("ok" if ok else "fail", title, what, expr.replace("\n", " ")))

    ids = [p.get("id") for p in panels(d)]
    if not ids or len(ids) != len(set(ids)):
        out(False, "(dashboard)", "no panels, or panel ids not unique", "-")
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else q or ""
        m = re.fullmatch(r"\s*label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)\s*", q)
        if not m:
            out(False, "variable " + v.get("name", "?"), "not label_values(metric, label)", q)
            continue
        r = get(url, "label/%s/values" % m.group(2), {"match[]": m.group(1)})
        vals = r.get("data") or []
        out(r.get("status") == "success" and job in vals, "variable " + v["name"],
            "values %s" % ",".join(vals) if r.get("status") == "success" else r.get("error"), q)
    for p in panels(d):
        for t in p.get("targets", []):
            expr = t.get("expr")
            if expr is None:
                continue
            e = expr.replace("${job}", job).replace("$job", job).replace("$__rate_interval", rate)
            if "$" in e:
                out(False, p.get("title", "?"), "unknown variable", expr)
                continue
            r = get(url, "query", {"query": e})
            if r.get("status") != "success":
                out(False, p.get("title", "?"), "error: %s" % r.get("error"), expr)
            else:
                n = len(r["data"]["result"]) if isinstance(r["data"]["result"], list) else 1
                out(n > 0, p.get("title", "?"), str(n) if n else "no data", expr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
