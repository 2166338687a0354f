#!/usr/bin/python3
# wsd-placements.py — cg-wsd's get_placements (issue 18): cg-taskd's record
# <runtime_dir>/taskd-placements.json served as {"placements": {...}} with only the known keys,
# and the record treated as hostile input like a Redis value: missing, not JSON, not UTF-8, the
# wrong shape, over the size cap, a symlink — each answered {"error": ...} on a connection that
# keeps being served; entries of the wrong types left out. (The record of a real cg-taskd is
# served in taskd-why.sh.)
import importlib.util
import json
import os

spec = importlib.util.spec_from_file_location('wsdlib', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wsd-lib.py'))
L = importlib.util.module_from_spec(spec)
spec.loader.exec_module(L)

t = L.Tap()
r = L.Redis().start()
RUN = os.path.join(L.TMP, 'run')
os.makedirs(RUN)
REC = os.path.join(RUN, 'taskd-placements.json')
w = L.Wsd(r.port, extra='[daemon]\nruntime_dir = %s' % RUN).start()
ws = w.ws()
conf = '{"version": 3, "value": {"cpu": {"sub_cgroup": {"a": {}}}}}'
r.cmd('SET', w.prefix + '/arch_conf', conf)


def put(text, mode='w'):
    tmp = REC + '.tmp'
    with open(tmp, mode) as f:
        f.write(text)
    os.replace(tmp, REC)


def ask():
    return w.ask(ws, {'cmd': 'get_placements'})


a = ask()
t.ok('no record: an error saying cg-taskd has not written one here',
     'error' in a and 'taskd-placements.json' in a['error'], a)
t.eq('get_placements takes no args', w.ask(ws, {'cmd': 'get_placements', 'args': {'x': 1}}),
     {'error': 'get_placements takes no args'})

good_entry = {'path': '/run/a.pid', 'pattern': '/run/*.pid', 'rule': 'svc_a', 'pid': 42,
              'state': 'placed', 'reason_key': '', 'reason': '3 processes in place',
              'cgroup': '/cgrouparch/svc_a', 'file_uid': 0, 'processes': 3,
              'last_move': 1700000000,
              'move': {'time': 1700000000.5, 'pid': 42, 'processes': 3, 'from': '/', 'to': '/x'}}
refused = {'path': '/home/u/x.pid', 'pattern': '/home/*/x.pid', 'rule': 'svc_u', 'pid': 1,
           'state': 'refused', 'reason_key': 'init', 'reason': 'pid 1 is never moved',
           'cgroup': '/cgrouparch/svc_u', 'last_move': None}
pending = {'path': '/run/s.pid', 'pattern': '/run/s.pid', 'rule': 'svc_s', 'pid': 77,
           'state': 'pending', 'reason_key': 'restart', 'reason': 'demo.service: waits',
           'cgroup': 'cgrouparch-svc_s.slice', 'unit': 'demo.service', 'last_move': None}
bad = [
    {'path': '/run/b1.pid', 'pid': '42', 'state': 'placed'},      # pid a string
    {'path': '/run/b2.pid', 'pid': -1, 'state': 'placed'},        # negative
    {'path': '/run/b3.pid', 'pid': 1.5, 'state': 'placed'},       # not an integer
    {'path': '/run/b4.pid', 'pid': 1, 'state': 'owned'},          # unknown state
    {'path': 7, 'pid': 1, 'state': 'placed'},                     # path not a string
    'just a string',
]
doc = {'version': 1, 'writer': 'cg-taskd', 'pid': 1234, 'updated': 1700000001.25,
       'secret': 'not for clients', 'rules': [{'name': 'svc_a'}],
       'files': [good_entry, refused, pending] + bad,
       'total': 9, 'omitted': 0, 'placed': 1, 'pending': 1, 'refused': 1, 'stale': 0, 'none': 0}
put(json.dumps(doc))
a = ask()
p = a.get('placements', {})
t.eq('a record: only "placements"', sorted(a), ['placements'])
t.eq('its keys', sorted(p), ['files', 'omitted', 'pending', 'placed', 'refused', 'total', 'updated'])
t.eq('counts and time as written', [p['pending'], p['refused'], p['placed'], p['total'], p['omitted'], p['updated']],
     [1, 1, 1, 9, 0, 1700000001.25])
t.eq('the three good entries, in order; the six bad ones left out',
     [f['path'] for f in p['files']], ['/run/a.pid', '/home/u/x.pid', '/run/s.pid'])
t.eq('an entry carries only the known keys',
     p['files'][0], {'path': '/run/a.pid', 'pattern': '/run/*.pid', 'rule': 'svc_a', 'pid': 42,
                     'state': 'placed', 'reason': '3 processes in place', 'reason_key': '',
                     'cgroup': '/cgrouparch/svc_a', 'last_move': 1700000000})
t.eq('last_move null and unit kept where given',
     [p['files'][1]['last_move'], p['files'][2].get('unit'), 'unit' in p['files'][1]], [None, 'demo.service', False])
t.ok('nothing of "secret" reaches the client', 'not for clients' not in json.dumps(a))

# missing strings and counts: "" and 0
put(json.dumps({'files': [{'path': '/p', 'pid': 0, 'state': 'none'}]}))
a = ask()
t.eq('a sparse record: defaults', a, {'placements': {'files': [
    {'path': '/p', 'pattern': '', 'rule': '', 'pid': 0, 'state': 'none', 'reason': '',
     'reason_key': '', 'cgroup': '', 'last_move': None}],
    'pending': 0, 'refused': 0, 'placed': 0, 'total': 0, 'omitted': 0, 'updated': 0}})

# at most 1000 entries
put(json.dumps({'files': [dict(good_entry, path='/run/%d.pid' % i) for i in range(1500)]}))
a = ask()
t.eq('at most 1000 entries served', len(a.get('placements', {}).get('files', [])), 1000)

# hostile records: each an error, the connection kept
for name, text, mode in [
        ('not JSON', '{"files": [', 'w'),
        ('trailing data', '{"files": []} {"x": 1}', 'w'),
        ('not UTF-8', b'{"files": [{"path": "/run/\xff.pid", "pid": 1, "state": "placed"}]}', 'wb'),
        ('a control character in a string', '{"files": [], "x": "a\x01b"}', 'w'),
        ('not an object', '[1, 2]', 'w'),
        ('no files array', '{"files": {"a": 1}}', 'w'),
        ('over 8 MiB', '{"files": [], "pad": "%s"}' % ('x' * (8 * 1024 * 1024)), 'w')]:
    put(text, mode)
    a = ask()
    t.eq('%s: refused' % name, a, {'error': "cg-taskd's placements are not valid"})
    t.eq('%s: the connection still answers' % name, w.ask(ws, {'cmd': 'get_conf'}), json.loads(conf))

os.unlink(REC)
other = os.path.join(L.TMP, 'elsewhere.json')
with open(other, 'w') as f:
    f.write(json.dumps(doc))
os.symlink(other, REC)
a = ask()
t.ok('a symlink in its place is not followed', 'error' in a, a)
os.unlink(REC)
os.mkfifo(REC)
a = ask()
t.ok('a FIFO in its place: an error at once, not a blocked loop', 'error' in a, a)
t.eq('and the server goes on', w.ask(ws, {'cmd': 'get_conf'}), json.loads(conf))
t.ok('cg-wsd is still running', w.alive())
t.ok('the refusals are logged, rate-limited (at most 3 a minute)',
     0 < w.logtext().count('Refusing to serve') <= 3, w.logtext())
t.done()
