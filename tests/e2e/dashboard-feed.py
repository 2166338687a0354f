# dashboard-feed.py REDIS_PORT PREFIX SECONDS [RUNTIME_DIR] — feeds Redis like cg-accountd would,
# for the dashboard test (run by dashboard.sh, not a test itself): the applied conf with weights and
# limits in <prefix>/arch_conf, 120 s of history at once, then one sample per wall-clock second
# (SET EX + PUBLISH); with RUNTIME_DIR, a cg-taskd placement record there (one placed, one
# pending, one refused pid file).
#
# The samples have every key cg-accountd writes (common/acct.h): cpu usage, nr_throttled and
# throttled_usec; blkio bytes per device; memory usage, peak, oom_kill; pids current; "pressure"
# some_usec/full_usec beside cpu, blkio and memory values. Per second:
#   test_cgroup_b/test_cgroup_b_sub1  75 % CPU (quota 80 %), throttled 10 %, cpu pressure 20 %,
#                                     no blkio node at all (the chart must draw no IO axis)
#   test_cgroup_b                     76 % CPU, cpu pressure 15 %
#   test_cgroup_a                     idle, writes 1 MiB/s, 412 MiB of memory (max 1 GiB), 12 tasks
#                                     (max 100), 3 OOM kills, io pressure 1 %, memory pressure 2 %
#   LONG (a long name)                5 % CPU, 900 MiB of memory (max 2 GiB), the biggest
import importlib.util
import json
import os
import sys
import time

spec = importlib.util.spec_from_file_location(
    'wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration', 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

port, prefix, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
runtime_dir = sys.argv[4] if len(sys.argv) > 4 else None
r = L.Redis(port)
LONG = 'batch_jobs_with_a_rather_long_cgroup_name_for_narrow_windows'
A, B, SUB = 'test_cgroup_a', 'test_cgroup_b', 'test_cgroup_b/test_cgroup_b_sub1'
MIB, GIB = 1 << 20, 1 << 30

CONF = {'version': 7, 'value': {
    'cpu': {'sub_cgroup': {
        LONG: {'conf': {'share': 100}},
        A: {'conf': {'share': 1024}},
        B: {'conf': {'share': 100},
            'sub_cgroup': {'test_cgroup_b_sub1': {'conf': {'share': 200, 'quota_percent': 80}}}}}},
    'blkio': {'sub_cgroup': {A: {'conf': {'weight': 500, 'write_bps': {'8:0': 10 * MIB}}}}},
    'memory': {'sub_cgroup': {
        LONG: {'conf': {'max': 2 * GIB, 'low': 256 * MIB}},
        A: {'conf': {'max': GIB, 'high': 800 * MIB}},
        B: {'sub_cgroup': {'test_cgroup_b_sub1': {}}}}},
    'pids': {'sub_cgroup': {LONG: {}, A: {'conf': {'max': 100}}}}}}


def node(tree, path):
    n = tree
    for part in path.split('/') if path else []:
        n = n.setdefault('sub_cgroup', {}).setdefault(part, {})
    return n


def at(slot):
    t = slot - 1700000000
    cpu, blkio, memory, pids = {'sub_cgroup': {}}, {'sub_cgroup': {}}, {'sub_cgroup': {}}, {'sub_cgroup': {}}
    usage = {'': 10**12 + t * 860_000_000, LONG: 5 * 10**9 + t * 50_000_000, A: 5_000_000_000,
             B: 10**9 + t * 760_000_000, SUB: t * 750_000_000}
    cpu_psi = {'': 150_000, B: 150_000, SUB: 200_000, A: 0, LONG: 0}
    for p, u in usage.items():
        n = node(cpu, p)
        n['value'] = {'usage': u, 'nr_throttled': t * 10 if p == SUB else 0,
                      'throttled_usec': t * 100_000 if p == SUB else 0}
        n['pressure'] = {'some_usec': t * cpu_psi[p], 'full_usec': t * cpu_psi[p] // 4}
    node(blkio, '')['value'] = {'8:0': {'Read': t * 4096, 'Write': t * MIB}}
    node(blkio, A)['value'] = {'8:0': {'Read': 0, 'Write': t * MIB}}
    node(blkio, A)['pressure'] = {'some_usec': t * 10_000, 'full_usec': t * 5_000}
    for p, u in {'': 1536 * MIB, LONG: 900 * MIB, A: 412 * MIB, B: 200 * MIB, SUB: 100 * MIB}.items():
        node(memory, p)['value'] = {'usage': u, 'peak': 500 * MIB if p == A else u, 'oom_kill': 3 if p == A else 0}
        node(memory, p)['pressure'] = {'some_usec': t * (20_000 if p == A else 0), 'full_usec': 0}
    for p, n in {'': 40, LONG: 20, A: 12}.items():
        node(pids, p)['value'] = {'current': n}
    return json.dumps({'cpu': cpu, 'blkio': blkio, 'memory': memory, 'pids': pids})


if runtime_dir:
    files = [
        {'path': '/run/b.pid', 'pattern': '/run/b.pid', 'rule': B, 'pid': 4200, 'state': 'placed',
         'reason_key': '', 'reason': '5 processes in place', 'cgroup': '/cgrouparch-test/' + B,
         'last_move': 1700000000},
        {'path': '/run/batch.pid', 'pattern': '/run/batch.pid', 'rule': LONG, 'pid': 4300,
         'state': 'pending', 'reason_key': 'no_cgroup',
         'reason': 'its cgroup /cgrouparch-test/%s does not exist yet' % LONG,
         'cgroup': '/cgrouparch-test/' + LONG, 'last_move': None},
        {'path': '/home/u/a.pid', 'pattern': '/home/*/a.pid', 'rule': A, 'pid': 4321, 'state': 'refused',
         'reason_key': 'owner', 'reason': 'the file is owned by uid 1000, neither root nor the owner of pid 4321',
         'cgroup': '/cgrouparch-test/' + A, 'last_move': None},
    ]
    doc = {'version': 1, 'writer': 'cg-taskd', 'pid': 1, 'updated': time.time(), 'files': files,
           'total': 3, 'omitted': 0, 'placed': 1, 'pending': 1, 'refused': 1, 'stale': 0, 'none': 0}
    with open(os.path.join(runtime_dir, 'taskd-placements.json.tmp'), 'w') as f:
        json.dump(doc, f)
    os.replace(os.path.join(runtime_dir, 'taskd-placements.json.tmp'),
               os.path.join(runtime_dir, 'taskd-placements.json'))

r.cmd('SET', prefix + '/arch_conf', json.dumps(CONF))
now = L.now_slot()
for s in range(now - 120, now + 1):
    L.put_sample(r, prefix, s, at(s), publish=False)
end = time.time() + seconds
while time.time() < end:
    time.sleep(1 - time.time() % 1 + 0.01)
    s = L.now_slot()
    L.put_sample(r, prefix, s, at(s))
