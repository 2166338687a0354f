// cgrouparch dashboard: a "top" of one host's managed cgroups. No dependencies.
// From cg-wsd's websocket: show_account (history) and subscribe_account (live samples),
// get_conf (the applied weights and limits, shown beside the usage), get_placements (cg-taskd's
// pending and refused placements) and get_host (the host's name, for the title).
// Rates come from deltas of the cumulative counters between two samples: CPU % of one core =
// delta(usage ns) / 1e9 / delta(seconds) * 100; a pressure or throttling % is the share of the
// wall time stalled (or throttled): delta(µs) / 1e6 / delta(seconds) * 100.
'use strict';

const HISTORY_SLOTS = 300;       // 5 minutes of history asked for at (re)connection
const KEEP_POINTS = 600;         // per cgroup
const CONF_EVERY_MS = 10000;     // the conf changes rarely: asked again every 10 s
const PLACEMENTS_EVERY_MS = 5000;
const SORTS = ['tree', 'cpu', 'io', 'mem', 'psi'];
const SORT_KEY = 'cgrouparch.sort';
const PSI_KINDS = [['cpu', 'cpu'], ['io', 'io'], ['memory', 'mem']];

const state = {
  samples: new Map(),            // slot -> flattened sample (only the last two are kept)
  series: new Map(),             // path -> [{slot, cpu, thr, rd, wr, psi, psiKind, psiOf}]
  cur: new Map(),                // path -> the newest sample's entry (gauges: memory, tasks)
  conf: new Map(),               // path -> what the applied conf sets
  confVersion: null,
  confNote: null,
  placements: null,              // get_placements' "placements", or null
  placementsNote: null,
  byRule: new Map(),             // rule (cgroup name) -> pending and refused files
  rows: new Map(),               // path -> {tr, detail}
  order: [],                     // paths as shown
  latest: null,                  // slot of the newest sample
  lastArrival: 0,                // performance.now() of the newest sample's arrival
  selected: null,
  expanded: new Set(),
  sort: loadSort(),
  ws: null,
  asked: [],                     // kinds of the requests not answered yet, in order
  timers: [],
  backoff: 500,
};

const $ = (sel) => document.querySelector(sel);
const isNum = (v) => typeof v === 'number' && isFinite(v);

function loadSort() {
  try { const s = localStorage.getItem(SORT_KEY); if (SORTS.includes(s)) return s; } catch (e) { /* no storage */ }
  return 'tree';
}

// ---- formatting ----

// 3 significant digits at most: "412 MiB", "1.5 GiB", "1 GiB" (not "1.0 GiB").
function fmtBytes(v) {
  if (!isNum(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0).replace(/\.0$/, '');
  return s + ' ' + units[i];
}
const fmtRate = (v) => (isNum(v) ? fmtBytes(v) + '/s' : '–');
const fmtPct = (v) => (isNum(v) ? v.toFixed(1) + '%' : '–');
const fmtInt = (v) => (isNum(v) ? String(v) : '–');
const fmtTime = (t) => new Date(t * 1000).toLocaleTimeString();

// ---- samples ----

// Walks a subsystem tree of a sample: calls fn(path, value, node) for every node with a value.
function walk(node, path, fn) {
  if (!node || typeof node !== 'object') return;
  if (node.value && typeof node.value === 'object') fn(path, node.value, node);
  const subs = node.sub_cgroup;
  if (!subs || typeof subs !== 'object') return;
  for (const name of Object.keys(subs)) walk(subs[name], path ? path + '/' + name : name, fn);
}

// Flattens a sample into path -> {usage, thrN, thrUs, rd, wr, mem*, pids, psi} (cumulative
// counters and gauges as written by cg-accountd; optional keys only where the sample has them).
function flatten(sample) {
  const out = new Map();
  const get = (p) => { if (!out.has(p)) out.set(p, {}); return out.get(p); };
  const psi = (e, kind, node) => {
    const p = node.pressure;
    if (!p || typeof p !== 'object' || !isNum(p.some_usec)) return;
    (e.psi = e.psi || {})[kind] = { some: p.some_usec, full: isNum(p.full_usec) ? p.full_usec : undefined };
  };
  if (!sample || typeof sample !== 'object') return out;
  walk(sample.cpu, '', (p, v, node) => {
    const e = get(p);
    if (isNum(v.usage)) e.usage = v.usage;
    if (isNum(v.nr_throttled) && isNum(v.throttled_usec)) { e.thrN = v.nr_throttled; e.thrUs = v.throttled_usec; }
    psi(e, 'cpu', node);
  });
  walk(sample.blkio, '', (p, v, node) => {
    let rd = 0, wr = 0, any = false;
    for (const dev of Object.keys(v)) {
      const ops = v[dev];
      if (!ops || typeof ops !== 'object') continue;
      rd += Number(ops.Read || ops.read || 0);
      wr += Number(ops.Write || ops.write || 0);
      any = true;
    }
    const e = get(p);
    if (any) { e.rd = rd; e.wr = wr; }
    psi(e, 'io', node);
  });
  walk(sample.memory, '', (p, v, node) => {
    const e = get(p);
    if (isNum(v.usage)) e.memUsage = v.usage;
    if (isNum(v.peak)) e.memPeak = v.peak;
    if (isNum(v.failcnt)) e.memFailcnt = v.failcnt;
    if (isNum(v.oom_kill)) e.memOom = v.oom_kill;
    psi(e, 'memory', node);
  });
  walk(sample.pids, '', (p, v) => { if (isNum(v.current)) get(p).pids = v.current; });
  return out;
}

// The rates between two entries of one cgroup, dt seconds apart.
function rates(cur, old, dt) {
  const pt = {};
  const d = (a, b) => (isNum(a) && isNum(b) ? Math.max(0, a - b) / dt : undefined);
  if (isNum(d(cur.usage, old.usage))) pt.cpu = d(cur.usage, old.usage) / 1e9 * 100;
  if (isNum(d(cur.thrUs, old.thrUs))) pt.thr = d(cur.thrUs, old.thrUs) / 1e6 * 100;
  if (isNum(d(cur.rd, old.rd))) pt.rd = d(cur.rd, old.rd);
  if (isNum(d(cur.wr, old.wr))) pt.wr = d(cur.wr, old.wr);
  if (cur.psi && old.psi) {
    for (const [kind] of PSI_KINDS) {
      const a = cur.psi[kind], b = old.psi[kind];
      if (!a || !b) continue;
      const some = d(a.some, b.some) / 1e6 * 100, full = d(a.full, b.full);
      if (!isNum(some)) continue;
      (pt.psi = pt.psi || {})[kind] = { some, full: isNum(full) ? full / 1e6 * 100 : undefined };
      if (!(pt.psiMax >= some)) { pt.psiMax = some; pt.psiKind = kind; }
    }
  }
  return pt;
}

// Adds the rates between the previous sample and this one to every cgroup's series.
function addSample(slot, sample) {
  if (state.samples.has(slot)) return;
  const flat = flatten(sample);
  state.samples.set(slot, flat);
  const prevSlot = [...state.samples.keys()].filter((s) => s < slot).reduce((a, b) => Math.max(a, b), -Infinity);
  for (const path of flat.keys()) if (!state.series.has(path)) state.series.set(path, []);
  if (prevSlot !== -Infinity) {
    const prev = state.samples.get(prevSlot), dt = slot - prevSlot;
    for (const [path, cur] of flat) {
      const pt = rates(cur, prev.get(path) || {}, dt);
      pt.slot = slot;
      const s = state.series.get(path);
      s.push(pt);
      if (s.length > 1 && s[s.length - 2].slot > slot) s.sort((a, b) => a.slot - b.slot);
      if (s.length > KEEP_POINTS) s.splice(0, s.length - KEEP_POINTS);
    }
  }
  if (state.latest === null || slot > state.latest) { state.latest = slot; state.cur = flat; }
  // keep only the samples still needed to compute the next rates
  const slots = [...state.samples.keys()].sort((a, b) => a - b);
  while (slots.length > 2) state.samples.delete(slots.shift());
}

// ---- the applied conf ----

// path -> {share, quota, weight, read_bps, write_bps, read_iops, write_iops, memMax, memHigh,
// memLow, pidsMax} from the snapshot {"version": N, "value": {...}}. The subsystem root takes no
// conf; cpu's share is 1024 where a conf is present without it (DESIGN "The arch conf").
function loadConf(snap) {
  const m = new Map();
  const get = (p) => { if (!m.has(p)) m.set(p, {}); return m.get(p); };
  const each = (node, path, fn) => {
    if (!node || typeof node !== 'object') return;
    if (path !== '' && node.conf && typeof node.conf === 'object') fn(get(path), node.conf);
    else if (path !== '') get(path);
    const subs = node.sub_cgroup;
    if (subs && typeof subs === 'object')
      for (const name of Object.keys(subs)) each(subs[name], path ? path + '/' + name : name, fn);
  };
  const v = snap && snap.value && typeof snap.value === 'object' ? snap.value : {};
  const devs = (x) => (x && typeof x === 'object' ? Object.entries(x).filter(([, n]) => isNum(n)) : null);
  each(v.cpu, '', (e, c) => { e.share = isNum(c.share) ? c.share : 1024; if (isNum(c.quota_percent)) e.quota = c.quota_percent; });
  each(v.blkio, '', (e, c) => {
    if (isNum(c.weight)) e.weight = c.weight;
    for (const k of ['read_bps', 'write_bps', 'read_iops', 'write_iops']) { const d = devs(c[k]); if (d && d.length) e[k] = d; }
  });
  each(v.memory, '', (e, c) => {
    if (isNum(c.max)) e.memMax = c.max;
    if (isNum(c.high)) e.memHigh = c.high;
    if (isNum(c.low)) e.memLow = c.low;
  });
  each(v.pids, '', (e, c) => { if (isNum(c.max)) e.pidsMax = c.max; });
  state.conf = m;
  state.confVersion = isNum(snap && snap.version) ? snap.version : null;
  state.confNote = null;
}

// ---- placements ----

function loadPlacements(pl) {
  state.placements = pl;
  state.placementsNote = null;
  state.byRule = new Map();
  for (const f of pl.files || []) {
    if (f.state !== 'pending' && f.state !== 'refused') continue;
    if (!state.byRule.has(f.rule)) state.byRule.set(f.rule, []);
    state.byRule.get(f.rule).push(f);
  }
}

function renderPlacements() {
  const ul = $('#placements'), pl = state.placements;
  ul.textContent = '';
  if (!pl) {
    $('#pl-counts').textContent = '';
    $('#pl-note').textContent = state.placementsNote || 'Asking cg-wsd for cg-taskd\'s record…';
    return;
  }
  let counts = `${pl.placed} placed · ${pl.pending} pending · ${pl.refused} refused of ${pl.total} pid files`;
  if (pl.omitted) counts += ` (${pl.omitted} not listed)`;
  $('#pl-counts').textContent = '(' + counts + ')';
  const shown = (pl.files || []).filter((f) => f.state === 'pending' || f.state === 'refused')
    .sort((a, b) => (a.state === b.state ? 0 : a.state === 'refused' ? -1 : 1));
  $('#pl-note').textContent = (shown.length ? 'Pending and refused, from cg-taskd\'s record'
    : 'Nothing pending or refused in cg-taskd\'s record') + (pl.updated ? ' of ' + fmtTime(pl.updated) : '') + '.';
  for (const f of shown) {
    const li = document.createElement('li');
    li.className = 'pl ' + f.state;
    li.dataset.rule = f.rule;
    const st = document.createElement('span'); st.className = 'state'; st.textContent = f.state;
    const who = document.createElement('strong'); who.textContent = f.rule || '(no rule)';
    const what = document.createElement('span');
    what.textContent = ` pid ${f.pid || '–'} from ${f.path}` + (f.cgroup ? ` → ${f.cgroup}` : '') + (f.unit ? ` (${f.unit})` : '');
    const why = document.createElement('span'); why.className = 'reason';
    why.textContent = f.reason + (f.reason_key ? ` [${f.reason_key}]` : '');
    li.append(st, who, what, why);
    ul.append(li);
  }
}

// ---- the table ----

function rowFor(path) {
  let r = state.rows.get(path);
  if (r) return r;
  const tr = document.createElement('tr');
  tr.className = 'row';
  tr.dataset.cgroup = path || '/';
  const id = 'd' + state.rows.size;
  tr.innerHTML = '<td class="name"><button type="button" class="open" aria-expanded="false"><span class="parent"></span><span class="leaf"></span></button><span class="badge" hidden></span></td>' +
    '<td class="cpu" data-label="CPU"><span class="v"></span><span class="lim"></span></td>' +
    '<td class="io" data-label="IO read / write"><span class="v"></span><span class="lim"></span></td>' +
    '<td class="mem" data-label="memory"><span class="v"></span><span class="lim"></span></td>' +
    '<td class="pids" data-label="tasks"><span class="v"></span><span class="lim"></span></td>' +
    '<td class="psi" data-label="pressure"><span class="v"></span><span class="lim"></span></td>' +
    '<td class="spark"><canvas width="120" height="22"></canvas></td>';
  const btn = tr.querySelector('button');
  btn.setAttribute('aria-controls', id);
  btn.tabIndex = -1;
  tr.querySelector('.name').style.setProperty('--depth', path ? path.split('/').length : 0);
  tr.title = path ? '/' + path : '/ (the managed root)';
  tr.addEventListener('click', () => toggle(path));
  const detail = document.createElement('tr');
  detail.className = 'detail';
  detail.id = id;
  detail.hidden = true;
  detail.innerHTML = '<td colspan="7"><dl class="detail"></dl></td>';
  r = { tr, detail };
  state.rows.set(path, r);
  return r;
}

// Paths in tree order: the root, then depth first, siblings by name (the seed's order).
function treeCmp(a, b) {
  const x = a ? a.split('/') : [], y = b ? b.split('/') : [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return x.length - y.length;
}

function last(path) { const s = state.series.get(path); return (s && s[s.length - 1]) || {}; }

// The value a sort orders by (larger first); undefined sorts last.
function sortValue(path, how) {
  const p = last(path), c = state.cur.get(path) || {};
  if (how === 'cpu') return p.cpu;
  if (how === 'io') return isNum(p.rd) || isNum(p.wr) ? (p.rd || 0) + (p.wr || 0) : undefined;
  if (how === 'mem') return c.memUsage;
  if (how === 'psi') return p.psiMax;
  return undefined;
}

// Tree order, or the root first (it is the sum of the others) and the rest by the sort's value.
function ordered(paths, how) {
  if (how === 'tree') return paths.sort(treeCmp);
  const val = new Map(paths.map((p) => [p, sortValue(p, how)]));
  return paths.sort((a, b) => {
    if (a === '' || b === '') return a === '' ? -1 : 1;
    const x = val.get(a), y = val.get(b);
    if (isNum(x) !== isNum(y)) return isNum(x) ? -1 : 1;
    if (isNum(x) && x !== y) return y - x;
    return treeCmp(a, b);
  });
}

// A cell: the usage, then the limits, each kept on one line (lines break between them).
function set(td, v, lim) {
  td.querySelector('.v').textContent = v;
  const el = td.querySelector('.lim');
  el.textContent = '';
  lim.filter(Boolean).forEach((text, i) => {
    const s = document.createElement('span');
    s.textContent = text;
    el.append(i ? ' · ' : '', s);
  });
}

// One device's limit: "rd ≤ 2 MiB/s"; more devices: the first and how many more.
function devLimit(what, list, fmt) {
  if (!list) return '';
  return `${what} ≤ ${fmt(list[0][1])}` + (list.length > 1 ? ` (+${list.length - 1} dev)` : '');
}
const fmtIops = (n) => n + ' IO/s';

function fillRow(path) {
  const { tr, detail } = state.rows.get(path);
  const p = last(path), c = state.cur.get(path) || {}, k = state.conf.get(path) || {};
  const td = (cls) => tr.querySelector('td.' + cls);
  // name: indented in tree order, the whole path otherwise
  const parts = path ? path.split('/') : [];
  tr.querySelector('.parent').textContent = state.sort === 'tree' || parts.length < 2 ? '' : parts.slice(0, -1).join('/') + '/';
  tr.querySelector('.leaf').textContent = path ? parts[parts.length - 1] : '/ (managed root)';
  tr.classList.toggle('flat', state.sort !== 'tree');
  const bad = path ? state.byRule.get(parts[parts.length - 1]) : null;
  const badge = tr.querySelector('.badge');
  badge.hidden = !bad;
  if (bad) {
    const n = (s) => bad.filter((f) => f.state === s).length;
    badge.textContent = [n('pending') && n('pending') + ' pending', n('refused') && n('refused') + ' refused'].filter(Boolean).join(' · ');
  }
  // CPU: usage / quota; share, throttling
  const cpu = td('cpu');
  set(cpu, fmtPct(p.cpu) + (isNum(k.quota) ? ` / ${k.quota}% quota` : ''),
    [isNum(k.share) && 'share ' + k.share, isNum(p.thr) && (p.thr > 0 || isNum(k.quota)) && 'throttled ' + fmtPct(p.thr)]);
  cpu.dataset.value = isNum(p.cpu) ? p.cpu.toFixed(3) : '';
  cpu.classList.toggle('busy', (p.cpu || 0) >= 1);
  // IO: read / write rates; weight, bandwidth and IOPS caps
  set(td('io'), isNum(p.rd) || isNum(p.wr) ? fmtRate(p.rd) + ' / ' + fmtRate(p.wr) : '–',
    [isNum(k.weight) && 'weight ' + k.weight, devLimit('rd', k.read_bps, fmtRate), devLimit('wr', k.write_bps, fmtRate),
      devLimit('rd', k.read_iops, fmtIops), devLimit('wr', k.write_iops, fmtIops)]);
  // memory: usage / max (or high); peak, high, low, OOM kills or failcnt
  const memCap = isNum(k.memMax) ? ` / ${fmtBytes(k.memMax)} max` : isNum(k.memHigh) ? ` / ${fmtBytes(k.memHigh)} high` : '';
  set(td('mem'), (isNum(c.memUsage) ? fmtBytes(c.memUsage) : '–') + memCap,
    [isNum(c.memPeak) && 'peak ' + fmtBytes(c.memPeak), isNum(k.memMax) && isNum(k.memHigh) && 'high ' + fmtBytes(k.memHigh),
      isNum(k.memLow) && 'low ' + fmtBytes(k.memLow), c.memOom > 0 && c.memOom + ' OOM kills',
      c.memFailcnt > 0 && 'failcnt ' + c.memFailcnt]);
  set(td('pids'), fmtInt(c.pids) + (isNum(k.pidsMax) ? ` / ${k.pidsMax} max` : ''), []);
  // pressure: the largest "some" share and its kind; the other kinds below
  const others = p.psi ? PSI_KINDS.filter(([kind]) => kind !== p.psiKind && p.psi[kind]).map(([kind, short]) => short + ' ' + fmtPct(p.psi[kind].some)) : [];
  set(td('psi'), isNum(p.psiMax) ? fmtPct(p.psiMax) + ' ' + PSI_KINDS.find(([kind]) => kind === p.psiKind)[1] : '–', others);
  td('psi').dataset.value = isNum(p.psiMax) ? p.psiMax.toFixed(3) : '';
  // selection, expansion, the roving tab stop
  const btn = tr.querySelector('button');
  tr.classList.toggle('selected', path === state.selected);
  btn.tabIndex = path === state.selected ? 0 : -1;
  const open = state.expanded.has(path);
  btn.setAttribute('aria-expanded', String(open));
  detail.hidden = !open;
  if (open) fillDetail(path, detail.querySelector('dl'), p, c, k, bad);
  drawSpark(tr.querySelector('canvas'), state.series.get(path) || []);
}

// The expanded row: every figure and every limit of the cgroup, and its placement problems.
function fillDetail(path, dl, p, c, k, bad) {
  const items = [['cgroup', '/' + path + (state.confVersion !== null ? ` (conf version ${state.confVersion})` : '')]];
  const line = (...xs) => xs.filter(Boolean).join('; ');
  const devs = (what, list, fmt) => list && list.map(([d, n]) => `${what} ≤ ${fmt(n)} on ${d}`).join(', ');
  items.push(['CPU', line(fmtPct(p.cpu) + ' of one core', isNum(k.share) && 'share ' + k.share,
    isNum(k.quota) ? 'quota ' + k.quota + '% of one core' : 'no quota',
    isNum(p.thr) && `throttled ${fmtPct(p.thr)} of the time (${fmtInt(c.thrN)} periods in all)`)]);
  items.push(['IO', line(`read ${fmtRate(p.rd)}, write ${fmtRate(p.wr)}`, isNum(k.weight) && 'weight ' + k.weight,
    devs('read', k.read_bps, fmtRate), devs('write', k.write_bps, fmtRate),
    devs('read', k.read_iops, fmtIops), devs('write', k.write_iops, fmtIops))]);
  items.push(['memory', line('usage ' + fmtBytes(c.memUsage), isNum(c.memPeak) && 'peak ' + fmtBytes(c.memPeak),
    isNum(k.memMax) ? 'max ' + fmtBytes(k.memMax) : 'no max', isNum(k.memHigh) && 'high ' + fmtBytes(k.memHigh),
    isNum(k.memLow) && 'low ' + fmtBytes(k.memLow), isNum(c.memOom) && c.memOom + ' OOM kills',
    isNum(c.memFailcnt) && 'failcnt ' + c.memFailcnt)]);
  items.push(['tasks', line(fmtInt(c.pids) + ' now', isNum(k.pidsMax) ? 'max ' + k.pidsMax : 'no max')]);
  items.push(['pressure', p.psi ? PSI_KINDS.filter(([kind]) => p.psi[kind]).map(([kind]) =>
    `${kind}: some ${fmtPct(p.psi[kind].some)}, full ${fmtPct(p.psi[kind].full)}`).join('; ') : 'not in the samples (no PSI here)']);
  for (const f of bad || []) items.push([f.state, `pid ${f.pid || '–'} from ${f.path}: ${f.reason}`]);
  dl.textContent = '';
  for (const [dt, dd] of items) {
    const a = document.createElement('dt'), b = document.createElement('dd');
    a.textContent = dt; b.textContent = dd;
    dl.append(a, b);
  }
}

function drawSpark(canvas, pts) {
  const c = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  c.clearRect(0, 0, w, h);
  const data = pts.filter((p) => p.cpu !== undefined).slice(-HISTORY_SLOTS);
  if (data.length < 2) return;
  const max = Math.max(100, ...data.map((p) => p.cpu));
  const t0 = data[0].slot, t1 = data[data.length - 1].slot || t0 + 1;
  c.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--cpu');
  c.lineWidth = 1.2;
  c.beginPath();
  data.forEach((p, i) => {
    const x = (p.slot - t0) / Math.max(1, t1 - t0) * (w - 2) + 1, y = h - 1 - p.cpu / max * (h - 2);
    i ? c.lineTo(x, y) : c.moveTo(x, y);
  });
  c.stroke();
}

// The history of the selected cgroup. An axis and a legend entry only for the series the
// cgroup has: % on the left (CPU, and the largest pressure share where the samples have PSI),
// bytes/s on the right only when it has IO counters. #chart's data-axes says which were drawn.
function drawChart() {
  const canvas = $('#chart'), c = canvas.getContext('2d');
  const ratio = window.devicePixelRatio || 1;
  const cw = canvas.clientWidth || 900, ch = canvas.clientHeight || 260;
  if (canvas.width !== cw * ratio || canvas.height !== ch * ratio) { canvas.width = cw * ratio; canvas.height = ch * ratio; }
  c.setTransform(ratio, 0, 0, ratio, 0, 0);
  c.clearRect(0, 0, cw, ch);
  const path = state.selected;
  const name = path === null ? '(select a cgroup)' : '/' + path;
  $('#chart-title').textContent = name;
  const pts = path === null ? [] : (state.series.get(path) || []);
  const has = {
    cpu: pts.some((p) => isNum(p.cpu)), psi: pts.some((p) => isNum(p.psiMax)),
    rd: pts.some((p) => isNum(p.rd)), wr: pts.some((p) => isNum(p.wr)),
  };
  const io = has.rd || has.wr, pct = has.cpu || has.psi;
  const L = pct ? 48 : 12, R = io ? 70 : 12, T = 10, B = 24, w = cw - L - R, h = ch - T - B;
  canvas.dataset.axes = [pct && '%', io && 'io'].filter(Boolean).join(' ');
  canvas.dataset.plot = [L, T, w, h].join(' ');
  const legend = $('#legend');
  legend.textContent = '';
  const key = (cls, text) => {
    const k = document.createElement('span'); k.className = 'key ' + cls;
    legend.append(k, text + ' ');
  };
  if (has.cpu) key('cpu', 'CPU %');
  if (has.psi) key('psi', 'pressure % (largest)');
  if (has.rd) key('rd', 'read');
  if (has.wr) key('wr', 'write');
  if (io) legend.append('(right axis, bytes/s)');
  canvas.setAttribute('aria-label', `History of ${name}: ` + ([has.cpu && 'CPU', has.psi && 'pressure', has.rd && 'read', has.wr && 'write'].filter(Boolean).join(', ') || 'no data yet'));
  c.strokeStyle = '#d9dbde'; c.fillStyle = '#525a66'; c.font = '11px system-ui, sans-serif'; c.lineWidth = 1;
  c.strokeRect(L, T, w, h);
  if (pts.length < 2) { c.fillText(path === null ? '' : 'collecting…', L + 8, T + 16); return; }
  const t0 = pts[0].slot, t1 = pts[pts.length - 1].slot;
  const pctMax = Math.max(100, ...pts.map((p) => Math.max(p.cpu || 0, p.psiMax || 0)));
  const ioMax = Math.max(1024, ...pts.map((p) => Math.max(p.rd || 0, p.wr || 0)));
  const X = (s) => L + (s - t0) / Math.max(1, t1 - t0) * w;
  for (let i = 0; i <= 4; i++) {
    const y = T + h - i / 4 * h;
    c.beginPath(); c.moveTo(L, y); c.lineTo(L + w, y); c.stroke();
    if (pct) c.fillText((pctMax * i / 4).toFixed(0) + '%', 4, y + 4);
    if (io) c.fillText(fmtRate(ioMax * i / 4), L + w + 4, y + 4);
  }
  c.fillText(fmtTime(t0), L, ch - 6);
  const lastT = fmtTime(t1);
  c.fillText(lastT, L + w - c.measureText(lastT).width, ch - 6);
  const css = getComputedStyle(document.documentElement);
  const line = (k, color, max, dash) => {
    c.strokeStyle = css.getPropertyValue(color); c.lineWidth = 1.6; c.setLineDash(dash || []); c.beginPath();
    let started = false;
    for (const p of pts) {
      if (!isNum(p[k])) continue;
      const x = X(p.slot), y = T + h - p[k] / max * h;
      started ? c.lineTo(x, y) : c.moveTo(x, y); started = true;
    }
    c.stroke();
    c.setLineDash([]);
  };
  if (has.rd) line('rd', '--rd', ioMax);
  if (has.wr) line('wr', '--wr', ioMax);
  if (has.psi) line('psiMax', '--psi', pctMax, [4, 3]);
  if (has.cpu) line('cpu', '--cpu', pctMax);
}

function render() {
  const tbody = $('#tree tbody');
  // the cgroups of the newest sample and of the conf: one removed from both leaves the table
  const paths = ordered([...new Set([...state.cur.keys(), ...state.conf.keys()])], state.sort);
  state.order = paths;
  $('#empty').hidden = state.latest !== null;
  if (state.selected === null && paths.length) state.selected = paths.find((p) => p !== '') ?? paths[0];
  // moving a focused row out and back would drop the focus: it is given back below
  const focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest('tr.row') : null;
  let i = 0;
  for (const path of paths) {
    const { tr, detail } = rowFor(path);
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    if (tbody.children[i + 1] !== detail) tbody.insertBefore(detail, tbody.children[i + 1] || null);
    i += 2;
    fillRow(path);
  }
  while (tbody.children.length > i) tbody.lastElementChild.remove();
  if (focused && document.activeElement !== focused.querySelector('button') && focused.isConnected)
    focused.querySelector('button').focus({ preventScroll: true });
  for (const th of document.querySelectorAll('#tree th[data-sort]')) {
    if (th.dataset.sort === state.sort) th.setAttribute('aria-sort', 'descending');
    else th.removeAttribute('aria-sort');
  }
  if (state.latest !== null) $('#sample').textContent = 'latest sample ' + fmtTime(state.latest);
  $('#conf-version').textContent = state.confNote ? 'no conf: ' + state.confNote
    : state.confVersion !== null ? 'conf version ' + state.confVersion : 'no conf yet';
  drawChart();
}

// ---- keyboard and mouse ----

function select(path, focus) {
  state.selected = path;
  render();
  if (focus) state.rows.get(path).tr.querySelector('button').focus();
}

function toggle(path) {
  if (state.expanded.has(path)) state.expanded.delete(path); else state.expanded.add(path);
  select(path, true);
}

// Arrow keys, Home and End move between rows (one tab stop for the table: the selected row);
// Enter and Space are the row button's own click, which toggles its details.
$('#tree tbody').addEventListener('keydown', (ev) => {
  const tr = ev.target.closest('tr.row');
  if (!tr || !ev.target.matches('button.open')) return;
  const i = state.order.indexOf(tr.dataset.cgroup === '/' ? '' : tr.dataset.cgroup), n = state.order.length;
  const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: n - 1 }[ev.key];
  if (to === undefined) return;
  ev.preventDefault();
  select(state.order[Math.min(n - 1, Math.max(0, to))], true);
});

$('#sort').value = state.sort;
$('#sort').addEventListener('change', (ev) => {
  state.sort = SORTS.includes(ev.target.value) ? ev.target.value : 'tree';
  try { localStorage.setItem(SORT_KEY, state.sort); } catch (e) { /* not remembered, still sorted */ }
  render();
});

// ---- the connection ----

function setStatus(up, text) {
  const el = $('#status');
  el.className = 'status ' + (up ? 'up' : 'down');
  el.textContent = text;
}

// The host the page shows: cg-wsd's get_host, or the name the page was opened with (an older
// cg-wsd without get_host).
function setHost(name, prefix) {
  const fromUrl = !name;
  name = name || location.hostname || 'this host';
  document.title = name + ' — cgrouparch';
  const el = $('#host');
  el.textContent = name;
  el.title = fromUrl ? 'the address this page was opened with (cg-wsd did not say its host name)' : 'host name, from cg-wsd';
  const pre = $('#prefix');
  pre.hidden = !prefix || prefix === 'cgroup_arch';
  pre.textContent = prefix ? 'redis prefix ' + prefix : '';
}

function send(kind, msg) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  state.asked.push(kind);
  ws.send(JSON.stringify(msg));
}

const answered = (kind) => { if (state.asked[0] === kind) state.asked.shift(); };

// Answers come back in request order; pushed samples ({"<slot>": <sample>}) come in between.
function onMessage(ev) {
  let msg;
  try { msg = JSON.parse(ev.data); } catch (e) { return; }
  if (!msg || typeof msg !== 'object') return;
  if (typeof msg.error === 'string') {
    const kind = state.asked.shift();
    if (kind === 'host') setHost('', '');
    else if (kind === 'conf') { state.confNote = msg.error; render(); }
    else if (kind === 'placements') { state.placements = null; state.placementsNote = 'No placements: ' + msg.error; state.byRule = new Map(); renderPlacements(); render(); }
    else setStatus(false, 'server: ' + msg.error);
    return;
  }
  if ('subscribed' in msg) return answered('subscribe');
  if (typeof msg.host === 'string') { answered('host'); return setHost(msg.host, msg.redis_prefix); }
  if (msg.placements && typeof msg.placements === 'object') {
    answered('placements'); loadPlacements(msg.placements); renderPlacements(); return render();
  }
  if ('version' in msg && 'value' in msg) { answered('conf'); loadConf(msg); return render(); }
  const slots = Object.keys(msg).filter((k) => /^\d+$/.test(k)).map(Number).sort((a, b) => a - b);
  answered('history'); // pushes start only after subscribe_account, asked after show_account
  for (const s of slots) addSample(s, msg[String(s)]);
  if (slots.length) { state.lastArrival = performance.now(); setStatus(true, 'live'); render(); }
}

function connect() {
  const token = new URLSearchParams(location.search).get('token');
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/' +
    (token ? '?token=' + encodeURIComponent(token) : '');
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onopen = () => {
    state.backoff = 500;
    state.asked = [];
    setStatus(true, 'connected');
    send('host', { cmd: 'get_host' });
    send('conf', { cmd: 'get_conf' });
    send('placements', { cmd: 'get_placements' });
    send('history', { cmd: 'show_account', args: { nr_slot: HISTORY_SLOTS } });
    send('subscribe', { cmd: 'subscribe_account' });
    state.timers.push(setInterval(() => send('conf', { cmd: 'get_conf' }), CONF_EVERY_MS),
      setInterval(() => send('placements', { cmd: 'get_placements' }), PLACEMENTS_EVERY_MS));
  };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    state.timers.forEach(clearInterval);
    state.timers = [];
    setStatus(false, 'disconnected, retrying…');
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 10000);
  };
}

// Samples come each second: say so when they stop while the connection stays up.
setInterval(() => {
  if (state.lastArrival && state.ws && state.ws.readyState === WebSocket.OPEN &&
      performance.now() - state.lastArrival > 5000)
    setStatus(false, 'no sample for ' + Math.round((performance.now() - state.lastArrival) / 1000) + ' s');
}, 1000);

window.addEventListener('resize', drawChart);
render();
connect();
