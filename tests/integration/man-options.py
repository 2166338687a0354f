#!/usr/bin/python3
# tests/run: no asan pass
# The manual pages keep up with the code (issue 15): every option that a program's --help prints
# (the four daemons, cgarch, and each cgarch command's own --help) appears in its man page, and
# every key of the config file's key table (common/ini.c) is described in cgrouparch.conf(5)
# under its section. A failure names the missing options or keys. No services, no root.
import os
import re
import subprocess
import sys

TOP = os.environ.get('CGARCH_TOP') or os.path.abspath(os.path.join(os.path.dirname(__file__), '../..'))
BUILD = os.environ.get('CGARCH_BUILD') or os.path.join(TOP, 'build')
n = failed = 0


def ok(cond, name, diag=''):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', n, name))
    for line in str(diag).splitlines() if diag and not cond else []:
        print('# ' + line)


LONG = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]*')
SHORT = re.compile(r'(?<![\w-])-[a-zA-Z](?![\w-])')


def options(text):
    """Every --long and -x option the help text mentions."""
    return sorted(set(LONG.findall(text)) | set(SHORT.findall(text)))


def roff_plain(s):
    """roff source with font escapes removed and \\- turned into -: what a reader sees, close
    enough to search for option names."""
    s = re.sub(r'\\f[BIRP]|\\f\(..|\\f\[[^]]*\]', '', s)
    return s.replace('\\-', '-').replace('\\(em', '--').replace('\\&', '')


def man_text(page):
    with open(os.path.join(TOP, 'man', page)) as f:
        return roff_plain(f.read())


def missing(opts, text):
    return [o for o in opts if not re.search(r'(?<![\w-])' + re.escape(o) + r'(?![\w-])', text)]


def help_of(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, LC_ALL='C'))
    return p.returncode, p.stdout + p.stderr


# The checker itself must be able to fail: an option the page lacks is reported, one it has is not.
sample = roff_plain(r'.TP' '\n' r'\fB\-\-zk\fR, \fB\-q\fR and \fB\-\-config\fR')
ok(missing(['--definitely-not-an-option', '-Z', '--zk', '-q'], sample)
   == ['--definitely-not-an-option', '-Z'], 'the checker reports an option a page lacks, and not one it has')
ok(missing(['--conf', '-c'], '--config only') == ['--conf', '-c'],
   '... --conf is not found inside --config, nor -c inside it')

programs = [
    (['cg-syncd', '--help'], 'cg-syncd.8'),
    (['cg-taskd', '--help'], 'cg-taskd.8'),
    (['cg-accountd', '--help'], 'cg-accountd.8'),
    (['cg-wsd', '--help'], 'cg-wsd.8'),
    (['cgarch', '--help'], 'cgarch.1'),
]
for cmd in ['validate', 'plan', 'apply', 'show', 'cgexec-arg', 'conf', 'why', 'top']:
    programs.append((['cgarch', cmd, '--help'], 'cgarch.1'))

for argv, page in programs:
    rc, text = help_of([os.path.join(BUILD, argv[0])] + argv[1:])
    label = ' '.join(argv)
    opts = options(text)
    if rc != 0 or not opts:
        ok(False, '`%s` prints its options (exit %d)' % (label, rc), text)
        continue
    miss = missing(opts, man_text(page))
    ok(not miss, 'every option of `%s` (%d: %s) is in %s%s'
       % (label, len(opts), ' '.join(opts), page,
          '; missing: ' + ' '.join(miss) if miss else ''))

# The config keys: cfg_keys in common/ini.c, {"section", "key", ...}, each under its .SH [section].
with open(os.path.join(TOP, 'common', 'ini.c')) as f:
    src = f.read()
table = re.search(r'cfg_keys\[\] = \{(.*?)\n\};', src, re.S)
keys = re.findall(r'\{"([a-z_]+)", "([a-z_]+)",', table.group(1)) if table else []
ok(len(keys) >= 30, 'the key table of common/ini.c is found (%d keys)' % len(keys))
conf5 = man_text('cgrouparch.conf.5')
sections = {}
for m in re.finditer(r'^\.SH \[([a-z_]+)\]\n(.*?)(?=^\.SH )', conf5, re.S | re.M):
    sections[m.group(1)] = m.group(2)
miss = ['[%s] %s' % (sec, key) for sec, key in keys
        if not re.search(r'^\.B(R)? ' + re.escape(key) + r'\b', sections.get(sec, ''), re.M)]
ok(not miss, 'every config key is described in cgrouparch.conf(5) under its section%s'
   % ('; missing: ' + ', '.join(miss) if miss else ''))
print('1..%d' % n)
sys.exit(1 if failed else 0)
