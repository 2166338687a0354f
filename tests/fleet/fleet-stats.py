#!/usr/bin/python3
"""fleet-stats.py PUTS EVENTS NHOSTS [--exclude I,J] [--since T] -- propagation figures.

PUTS: lines "<version> <first attempt start> <write acknowledged> <put exited> <attempts>" (epoch
seconds) written by the harness for each successful `cgarch conf put`; "acknowledged" is when
put printed "wrote ... version N" (ZooKeeper confirmed the write), before it closes its session
and exits. EVENTS: fleet-watch.py's events.log
("<epoch> <host> <snapshot version>").

For every put version v and every host (except --exclude), the time the host's snapshot first
showed a version >= v. Prints "key value" lines:
  n                 puts counted
  p50 p99 max mean  ms from the acknowledged write to the last host's snapshot
  exit_p50 exit_p99 ms from put's exit to the last host (negative: the fleet had it first)
  start_p99         ms from put's start (process, session, write) to the last host
  stall_max         ms from the put's first attempt (retries included) to the last host
  stall_version     the version with that stall
  missing           (host, version) pairs never reached (a host never got to v or beyond)
  skipped           (host, version) pairs a host went past without showing v itself
  backwards         times a host's snapshot version went down
  cpu_... nothing   (the harness adds CPU figures itself)
"""
import math
import sys


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1)
    return sorted_vals[k]


def main():
    puts_path, ev_path, nhosts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    exclude = set()
    since = 0.0
    args = sys.argv[4:]
    while args:
        a = args.pop(0)
        if a == "--exclude":
            exclude = {int(x) for x in args.pop(0).split(",") if x != ""}
        elif a == "--since":
            since = float(args.pop(0))
    puts = []
    for line in open(puts_path):
        f = line.split()
        if len(f) >= 3 and float(f[1]) >= since:
            puts.append((int(f[0]), float(f[1]), float(f[2]), float(f[3])))
    events = {i: [] for i in range(nhosts)}
    for line in open(ev_path):
        f = line.split()
        if len(f) == 3:
            t, i, v = float(f[0]), int(f[1]), int(f[2])
            if i in events:
                events[i].append((t, v))
    backwards = 0
    seen = {i: set() for i in events}
    for i, evs in events.items():
        last = -2
        for t, v in evs:
            if v < last:
                backwards += 1
            last = max(last, v)
            seen[i].add(v)
    lat, stall, lat_exit, lat_start = [], [], [], []
    missing = skipped = 0
    worst = (0.0, None)
    for v, t0, ta, t1 in puts:
        last = None
        for i in range(nhosts):
            if i in exclude:
                continue
            t = next((t for t, ver in events[i] if ver >= v), None)
            if t is None:
                missing += 1
                continue
            if v not in seen[i]:
                skipped += 1
            last = t if last is None or t > last else last
        if last is None:
            continue
        lat.append(max(0.0, last - ta) * 1000)
        lat_exit.append((last - t1) * 1000)
        lat_start.append((last - t0) * 1000)
        s = (last - t0) * 1000
        stall.append(s)
        if s > worst[0]:
            worst = (s, v)
    lat.sort()
    lat_exit.sort()
    lat_start.sort()
    print("n %d" % len(puts))
    print("p50 %.1f" % pct(lat, 50))
    print("p99 %.1f" % pct(lat, 99))
    print("max %.1f" % (lat[-1] if lat else float("nan")))
    print("mean %.1f" % (sum(lat) / len(lat) if lat else float("nan")))
    print("exit_p50 %.1f" % pct(lat_exit, 50))
    print("exit_p99 %.1f" % pct(lat_exit, 99))
    print("start_p50 %.1f" % pct(lat_start, 50))
    print("start_p99 %.1f" % pct(lat_start, 99))
    print("stall_max %.1f" % worst[0])
    print("stall_version %s" % worst[1])
    print("missing %d" % missing)
    print("skipped %d" % skipped)
    print("backwards %d" % backwards)


if __name__ == "__main__":
    main()
