# dashboard-feed.py REDIS_PORT PREFIX SECONDS — feeds Redis like cg-accountd would, for the
# dashboard test (run by dashboard.sh, not a test itself): 120 s of history at once, then one
# sample per wall-clock second (SET EX + PUBLISH). test_cgroup_b/test_cgroup_b_sub1 is "busy"
# (0.75 s of CPU per second = 75 % of a core), test_cgroup_a idle but writing 1 MiB/s.
import importlib.util
import os
import sys
import time

spec = importlib.util.spec_from_file_location(
    'wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration', 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

port, prefix, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
r = L.Redis(port)


def at(slot):
    base = slot - 1700000000
    return L.sample({'': 10**12 + base * 800_000_000,
                     'test_cgroup_a': 5_000_000_000,
                     'test_cgroup_b': 10**9 + base * 760_000_000,
                     'test_cgroup_b/test_cgroup_b_sub1': base * 750_000_000},
                    {'': {'8:0': (base * 4096, base * (1 << 20))},
                     'test_cgroup_a': {'8:0': (0, base * (1 << 20))}})


now = L.now_slot()
for s in range(now - 120, now + 1):
    L.put_sample(r, prefix, s, at(s), publish=False)
end = time.time() + seconds
while time.time() < end:
    time.sleep(1 - time.time() % 1 + 0.01)
    s = L.now_slot()
    L.put_sample(r, prefix, s, at(s))
