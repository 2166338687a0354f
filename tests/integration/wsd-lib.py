# wsd-lib.py — shared helpers of the cg-wsd Python tests (loaded by wsd-*.py, not a test itself):
# TAP output, a private Redis, a cg-wsd with its own config, a minimal RESP client, websocket
# helpers (Debian python3-websocket, the seed's client library) and synthetic samples.
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get('CGARCH_TOP') or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('CGARCH_BUILD') or os.path.join(TOP, 'build')
TMP = tempfile.mkdtemp(prefix='cgarch-wsd-test.')
# Latency bounds are multiplied by this (3 in the sanitizer pass of tests/run; tests/lib.sh's T_TF).
TF = float(os.environ.get('CGARCH_TIME_FACTOR') or 1)


def asan_small_quarantine():
    """For a test that bounds cg-wsd's RSS: in the sanitizer pass, the cg-wsd started after this
    call keeps 16 MB of freed memory in ASan's quarantine instead of 256 MB (freed memory that
    ASan holds back to catch a use after free, not cg-wsd's), so the bound still measures cg-wsd."""
    if os.environ.get('ASAN_OPTIONS'):
        os.environ['ASAN_OPTIONS'] += ':quarantine_size_mb=16'
_procs = []


def _cleanup():
    for p in reversed(_procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    shutil.rmtree(TMP, ignore_errors=True)


atexit.register(_cleanup)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, name, cond, diag=None):
        self.n += 1
        if cond:
            print('ok %d - %s' % (self.n, name), flush=True)
        else:
            self.failed += 1
            print('not ok %d - %s' % (self.n, name), flush=True)
            if diag is not None:
                for line in str(diag).splitlines()[:20]:
                    print('#   ' + line, flush=True)
        return cond

    def eq(self, name, got, want):
        return self.ok(name, got == want, 'got:  %r\nwant: %r' % (got, want))

    def done(self):
        print('1..%d' % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def wait_for(seconds, fn):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if fn():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """A private redis-server on loopback, and a blocking RESP client for the test's own use."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None
        self.sock = None

    def start(self):
        self.proc = subprocess.Popen(
            ['redis-server', '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
             '--appendonly', 'no', '--daemonize', 'no'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(self.proc)
        if not wait_for(10, lambda: self.cmd('PING') == 'PONG'):
            raise RuntimeError('redis did not start')
        return self

    def stop(self):
        self.close()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _read_line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('redis closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def _read(self):
        line = self._read_line()
        t, rest = line[:1], line[1:]
        if t == b'+':
            return rest.decode()
        if t == b'-':
            raise RuntimeError(rest.decode())
        if t == b':':
            return int(rest)
        if t == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError('redis closed')
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if t == b'*':
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError('bad RESP: %r' % line)

    def cmd(self, *args):
        if not self.sock:
            self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=5)
            self.buf = b''
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        try:
            self.sock.sendall(out)
            return self._read()
        except (OSError, ConnectionError):
            self.close()
            raise


class Wsd:
    """cg-wsd with a config of its own, pointed at the repo's www/."""

    def __init__(self, redis_port, extra='', prefix='cgroup_arch', port=None):
        self.port = port or free_port()
        self.prefix = prefix
        self.cfg = os.path.join(TMP, 'wsd.%d.conf' % self.port)
        self.log = os.path.join(TMP, 'wsd.%d.log' % self.port)
        with open(self.cfg, 'w') as f:
            f.write('[redis]\nport = %d\nprefix = %s\n[wsd]\nport = %d\nwww_dir = %s\n%s\n'
                    % (redis_port, prefix, self.port, os.path.join(TOP, 'www'), extra))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([os.path.join(BUILD, 'cg-wsd'), '-c', self.cfg],
                                     stdout=open(self.log, 'w'), stderr=subprocess.STDOUT)
        _procs.append(self.proc)
        if not wait_for(10, lambda: self.http('/healthz')[0] in (200, 503)):
            raise RuntimeError('cg-wsd did not start:\n' + self.logtext())
        return self

    def logtext(self):
        try:
            return open(self.log).read()
        except OSError:
            return ''

    def alive(self):
        return self.proc.poll() is None

    def url(self, path='/'):
        return 'ws://127.0.0.1:%d%s' % (self.port, path)

    def http(self, path, headers=None):
        req = urllib.request.Request('http://127.0.0.1:%d%s' % (self.port, path),
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def ws(self, path='/', **kw):
        ws = websocket.WebSocket()
        ws.settimeout(5)
        ws.connect(self.url(path), **kw)
        return ws

    def ask(self, ws, body):
        ws.send(body if isinstance(body, str) else json.dumps(body))
        return json.loads(ws.recv())


def tree(values, leaf):
    """{path: x} -> a sample subsystem tree {"value": leaf(x), "sub_cgroup": {...}}; '' is the root."""
    root = {'sub_cgroup': {}}
    for path in sorted(values, key=lambda p: p.count('/') if p else -1):
        node = root
        if path:
            for part in path.split('/'):
                node = node['sub_cgroup'].setdefault(part, {'sub_cgroup': {}})
        node['value'] = leaf(values[path])
    return root


def sample(cpu, io=None):
    """cpu: {path: usage ns}; io: {path: {device: (read, write)}} -> sample JSON text."""
    s = {'cpu': tree(cpu, lambda u: {'usage': u})}
    if io is not None:
        s['blkio'] = tree(io, lambda d: {dev: {'Read': rw[0], 'Write': rw[1]} for dev, rw in d.items()})
    return json.dumps(s)


def put_sample(r, prefix, slot, text, publish=True, expire=300):
    r.cmd('SET', '%s/account/%d' % (prefix, slot), text, 'EX', expire)
    if publish:
        r.cmd('PUBLISH', '%s/account' % prefix, slot)


def now_slot():
    return int(round(time.time()))
