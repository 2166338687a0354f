#!/usr/bin/python3
"""fleet-report.py RESULTS HEADER BENCHMARKS.md docs/fleet.md -- writes the figures of `make fleet`.

RESULTS: "N=<n> <key> <value>" lines from tests/fleet/fleet.sh runs. HEADER: one line describing
the run (date, machine, load, pass counts). The section between "<!-- fleet:begin -->" and
"<!-- fleet:end -->" is replaced in both files (BENCHMARKS.md gets a "## Fleet" section with
the markers if it has none; docs/fleet.md must have them).
"""
import re
import sys

BEGIN, END = "<!-- fleet:begin -->", "<!-- fleet:end -->"


def load(path):
    r = {}
    for line in open(path):
        f = line.split()
        if len(f) == 3 and f[0].startswith("N="):
            r.setdefault(int(f[0][2:]), {})[f[1]] = f[2]
    return r


def fit(xs, ys):
    """Least squares y = a + b x."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def g(d, k, unit=""):
    v = d.get(k)
    return "—" if v is None else v + unit


def section(res, header):
    ns = sorted(res)
    out = [header, ""]
    out.append("**Propagation** (100 changes each, one at a time; ms from the acknowledged write "
               "— `cgarch conf put` printing `wrote … version N` — to the last host's snapshot "
               "rename; \"from put start\" adds the admin's process start, session and write):")
    out.append("")
    out.append("| hosts | p50 | p99 | max | from put start p50 / p99 | ensemble CPU per change | "
               "bytes to hosts per change |")
    out.append("|---|---|---|---|---|---|---|")
    for n in ns:
        d = res[n]
        out.append("| %d | %s | %s | %s | %s / %s | %s | %s |" % (
            n, g(d, "prop_p50_ms", " ms"), g(d, "prop_p99_ms", " ms"), g(d, "prop_max_ms", " ms"),
            g(d, "prop_start_p50_ms"), g(d, "prop_start_p99_ms", " ms"),
            g(d, "zk_cpu_ms_per_change", " ms"), g(d, "zk_bytes_per_change", " B")))
    out.append("")
    out.append("**Thundering herd** (one ~1 MB conf, every host watching):")
    out.append("")
    out.append("| hosts | conf | write acknowledged after | last host after the write | "
               "ensemble CPU | bytes to hosts | per host | TCP retransmits |")
    out.append("|---|---|---|---|---|---|---|---|")
    for n in ns:
        d = res[n]
        if "herd_zk_bytes_sent" not in d:
            continue
        out.append("| %d | %s B | %s ms | %s ms | %s ms | %s B | %d B | %s |" % (
            n, d["herd_conf_bytes"], g(d, "herd_put_ms"), g(d, "herd_last_host_ms"),
            g(d, "herd_zk_cpu_ms"), d["herd_zk_bytes_sent"], int(d["herd_zk_bytes_sent"]) // n,
            g(d, "herd_tcp_retrans")))
    xs = [n for n in ns if "zk_cpu_ms_per_change" in res[n]]
    f1 = fit(xs, [float(res[n]["zk_cpu_ms_per_change"]) for n in xs])
    f2 = fit(xs, [float(res[n]["zk_bytes_per_change"]) for n in xs])
    hx = [n for n in ns if "herd_zk_cpu_ms" in res[n]]
    f3 = fit(hx, [float(res[n]["herd_zk_cpu_ms"]) for n in hx])
    if f1 and f2:
        out.append("")
        out.append("Linear fit over the runs: ensemble CPU per small change = %.1f ms + %.2f ms "
                   "per watching host; bytes to hosts per change = %.0f B + %.0f B per host%s." % (
                       f1[0], f1[1], f2[0], f2[1],
                       ("; a ~1 MB change = %.0f ms + %.1f ms of ensemble CPU per host" % f3)
                       if f3 else ""))
    big = max(ns)
    d = res[big]
    if any(k.startswith(("failover", "rolling", "partition", "quorum", "dashboard")) for k in d):
        out.append("")
        out.append("**Faults at %d hosts** (session timeout as in the header):" % big)
        out.append("")
        out.append("| scenario | figure |")
        out.append("|---|---|")
        rows = [
            ("leader kill -9 → new leader", "failover_election_ms", " ms"),
            ("leader kill -9: longest stall of a change (first put attempt → last host)", "failover_stall_ms", " ms"),
            ("leader kill -9: host sessions expired", "failover_session_expiries", ""),
            ("rolling restart of 3 servers: longest stall", "rolling_stall_ms", " ms"),
            ("rolling restart: changes made during it", "rolling_changes", ""),
            ("partition (3× session timeout): slowest other host per change", "partition_others_max_ms", " ms"),
            ("partition: healed host on the last version after the heal", "partition_recovery_ms", " ms"),
            ("partition: the heal came after (the cut lasts until the two changes are through)", "partition_healed_after_s", " s"),
            ("partition: CgrouparchConfVersionSkew firing after the cut (the rule's 3m window and `for: 2m` shortened to 3s and 1s, scrape and evaluation every 1 s)", "partition_alert_firing_s", " s"),
            ("partition: CgrouparchConfVersionSkew gone after the heal", "partition_alert_cleared_s", " s"),
            ("quorum loss: every host's STATUS= says unreachable after", "quorum_status_ms", " ms"),
            ("quorum back: every host watching again after the restart", "quorum_reconnect_ms", " ms"),
            ("Grafana dashboard queries answered by the fleet's Prometheus", "dashboard_queries", ""),
            ("monitoring: Prometheus CPU (every host scraped and the rules evaluated each second), % of a core", "prom_cpu_pct", " %"),
            ("monitoring: the cg-wsd of all hosts answering the scrapes, % of a core", "wsd_cpu_pct_all_hosts", " %"),
            ("harness start (ensemble, namespaces, hosts on version 0, Prometheus scraping them)", "startup_s", " s"),
        ]
        for label, k, u in rows:
            if k in d:
                out.append("| %s | %s |" % (label, d[k] + u))
    return "\n".join(out) + "\n"


def replace(path, text, add_heading):
    try:
        s = open(path).read()
    except FileNotFoundError:
        s = ""
    block = BEGIN + "\n" + text + END
    if BEGIN in s and END in s:
        s = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: block, s, flags=re.S)
    elif add_heading:
        s = s.rstrip("\n") + "\n\n## Fleet\n\n`make fleet` (tests/fleet/run): a 3-server ZooKeeper " \
            "ensemble and simulated hosts in network namespaces; the analysis and the extrapolation " \
            "to 10,000 hosts are in docs/fleet.md. Replaced on each run.\n\n" + block + "\n"
    else:
        sys.exit("%s has no %s ... %s markers" % (path, BEGIN, END))
    open(path, "w").write(s)


def main():
    res = load(sys.argv[1])
    if not res:
        sys.exit("no results in " + sys.argv[1])
    text = section(res, sys.argv[2])
    replace(sys.argv[3], text, True)
    replace(sys.argv[4], text, False)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
