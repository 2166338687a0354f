// cgrouparch dashboard: history from show_account, live samples from subscribe_account.
// No dependencies. Rates come from deltas of the cumulative counters between two samples:
// CPU % of one core = delta(usage ns) / 1e9 / delta(seconds) * 100.
'use strict';

const HISTORY_SLOTS = 300;       // 5 minutes of history asked for at (re)connection
const KEEP_POINTS = 600;         // per cgroup
const state = {
  samples: new Map(),            // slot -> sample (only the last two are needed for rates)
  series: new Map(),             // path -> [{slot, cpu, rd, wr}]
  rows: new Map(),               // path -> <tr>
  latest: null,                  // slot of the newest sample
  selected: null,
  ws: null,
  backoff: 500,
};

const $ = (sel) => document.querySelector(sel);

function fmtRate(v) {
  if (v === undefined || v === null || isNaN(v)) return '–';
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : Math.round(v)) + ' ' + units[i];
}
function fmtCpu(v) { return (v === undefined || isNaN(v)) ? '–' : v.toFixed(1) + '%'; }

// Walks a subsystem tree of a sample: calls fn(path, value) for every node.
function walk(node, path, fn) {
  if (!node || typeof node !== 'object') return;
  if (node.value) fn(path, node.value);
  const subs = node.sub_cgroup || {};
  for (const name of Object.keys(subs).sort())
    walk(subs[name], path ? path + '/' + name : name, fn);
}

// Flattens a sample into path -> {usage, rd, wr} (cumulative).
function flatten(sample) {
  const out = new Map();
  const get = (p) => { if (!out.has(p)) out.set(p, {}); return out.get(p); };
  if (sample.cpu) walk(sample.cpu, '', (p, v) => { if (typeof v.usage === 'number') get(p).usage = v.usage; });
  if (sample.blkio) walk(sample.blkio, '', (p, v) => {
    let rd = 0, wr = 0;
    for (const dev of Object.keys(v)) {
      const ops = v[dev];
      if (!ops || typeof ops !== 'object') continue;
      rd += Number(ops.Read || ops.read || 0);
      wr += Number(ops.Write || ops.write || 0);
    }
    const e = get(p); e.rd = rd; e.wr = wr;
  });
  return out;
}

// Adds the rates between the previous sample and this one to every cgroup's series.
function addSample(slot, sample) {
  if (state.samples.has(slot)) return;
  const flat = flatten(sample);
  state.samples.set(slot, flat);
  const prevSlot = [...state.samples.keys()].filter((s) => s < slot).reduce((a, b) => Math.max(a, b), -Infinity);
  if (prevSlot !== -Infinity) {
    const prev = state.samples.get(prevSlot), dt = slot - prevSlot;
    for (const [path, cur] of flat) {
      const old = prev.get(path) || {};
      const pt = { slot };
      if (cur.usage !== undefined && old.usage !== undefined) pt.cpu = Math.max(0, (cur.usage - old.usage) / 1e9 / dt * 100);
      if (cur.rd !== undefined && old.rd !== undefined) pt.rd = Math.max(0, (cur.rd - old.rd) / dt);
      if (cur.wr !== undefined && old.wr !== undefined) pt.wr = Math.max(0, (cur.wr - old.wr) / dt);
      if (!state.series.has(path)) state.series.set(path, []);
      const s = state.series.get(path);
      s.push(pt);
      s.sort((a, b) => a.slot - b.slot);
      if (s.length > KEEP_POINTS) s.splice(0, s.length - KEEP_POINTS);
    }
  } else {
    for (const path of flat.keys()) if (!state.series.has(path)) state.series.set(path, []);
  }
  // keep only the samples still needed to compute the next rates
  const slots = [...state.samples.keys()].sort((a, b) => a - b);
  while (slots.length > 2) state.samples.delete(slots.shift());
  if (state.latest === null || slot > state.latest) state.latest = slot;
}

function rowFor(path) {
  let tr = state.rows.get(path);
  if (tr) return tr;
  tr = document.createElement('tr');
  tr.dataset.cgroup = path || '/';
  const depth = path ? path.split('/').length : 0;
  const name = path ? path.split('/').pop() : '/ (managed root)';
  tr.innerHTML = '<td class="name"></td><td class="cpu"></td><td class="rd"></td><td class="wr"></td><td class="spark"><canvas width="120" height="22"></canvas></td>';
  tr.querySelector('.name').textContent = name;
  tr.querySelector('.name').style.paddingLeft = (0.6 + depth * 1.4) + 'em';
  tr.title = path || '/';
  tr.addEventListener('click', () => { state.selected = path; render(); });
  state.rows.set(path, tr);
  return tr;
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

function drawChart() {
  const canvas = $('#chart'), c = canvas.getContext('2d');
  const ratio = window.devicePixelRatio || 1;
  const cw = canvas.clientWidth || 900, ch = canvas.clientHeight || 260;
  if (canvas.width !== cw * ratio) { canvas.width = cw * ratio; canvas.height = ch * ratio; }
  c.setTransform(ratio, 0, 0, ratio, 0, 0);
  c.clearRect(0, 0, cw, ch);
  const path = state.selected;
  $('#chart-title').textContent = path === null ? '(select a cgroup)' : (path || '/');
  const pts = path === null ? [] : (state.series.get(path) || []);
  const L = 48, R = 70, T = 10, B = 24, w = cw - L - R, h = ch - T - B;
  c.strokeStyle = '#d9dbde'; c.fillStyle = '#6b7280'; c.font = '11px system-ui, sans-serif'; c.lineWidth = 1;
  c.strokeRect(L, T, w, h);
  if (pts.length < 2) { c.fillText('collecting…', L + 8, T + 16); return; }
  const t0 = pts[0].slot, t1 = pts[pts.length - 1].slot;
  const cpuMax = Math.max(100, ...pts.map((p) => p.cpu || 0));
  const ioMax = Math.max(1024, ...pts.map((p) => Math.max(p.rd || 0, p.wr || 0)));
  const X = (s) => L + (s - t0) / Math.max(1, t1 - t0) * w;
  for (let i = 0; i <= 4; i++) {
    const y = T + h - i / 4 * h;
    c.beginPath(); c.moveTo(L, y); c.lineTo(L + w, y); c.stroke();
    c.fillText((cpuMax * i / 4).toFixed(0) + '%', 4, y + 4);
    c.fillText(fmtRate(ioMax * i / 4), L + w + 4, y + 4);
  }
  c.fillText(new Date(t0 * 1000).toLocaleTimeString(), L, ch - 6);
  const last = new Date(t1 * 1000).toLocaleTimeString();
  c.fillText(last, L + w - c.measureText(last).width, ch - 6);
  const css = getComputedStyle(document.documentElement);
  const line = (key, color, max) => {
    c.strokeStyle = css.getPropertyValue(color); c.lineWidth = 1.6; c.beginPath();
    let started = false;
    for (const p of pts) {
      if (p[key] === undefined) continue;
      const x = X(p.slot), y = T + h - p[key] / max * h;
      started ? c.lineTo(x, y) : c.moveTo(x, y); started = true;
    }
    c.stroke();
  };
  line('rd', '--rd', ioMax); line('wr', '--wr', ioMax); line('cpu', '--cpu', cpuMax);
}

function render() {
  const tbody = $('#tree tbody');
  const paths = [...state.series.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  $('#empty').hidden = paths.length > 0;
  if (state.selected === null && paths.length) state.selected = paths.find((p) => p !== '') ?? paths[0];
  paths.forEach((path, i) => {
    const tr = rowFor(path);
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    const pts = state.series.get(path), last = pts[pts.length - 1] || {};
    const cpu = tr.querySelector('.cpu');
    cpu.textContent = fmtCpu(last.cpu);
    cpu.dataset.value = last.cpu === undefined ? '' : last.cpu.toFixed(3);
    cpu.classList.toggle('busy', (last.cpu || 0) >= 1);
    tr.querySelector('.rd').textContent = fmtRate(last.rd);
    tr.querySelector('.wr').textContent = fmtRate(last.wr);
    tr.classList.toggle('selected', path === state.selected);
    drawSpark(tr.querySelector('canvas'), pts);
  });
  if (state.latest !== null)
    $('#sample').textContent = 'latest sample ' + new Date(state.latest * 1000).toLocaleTimeString();
  drawChart();
}

function setStatus(up, text) {
  const el = $('#status');
  el.className = 'status ' + (up ? 'up' : 'down');
  el.textContent = text;
}

// show_account answers and pushes are keyed by slot numbers only ({"<slot>": <sample>, ...}).
function onMessage(ev) {
  let msg;
  try { msg = JSON.parse(ev.data); } catch (e) { return; }
  if (msg.error) { setStatus(false, 'server: ' + msg.error); return; }
  if ('subscribed' in msg) return;
  const slots = Object.keys(msg).filter((k) => /^\d+$/.test(k)).map(Number).sort((a, b) => a - b);
  for (const s of slots) addSample(s, msg[String(s)]);
  if (slots.length) { setStatus(true, 'live'); render(); }
}

function connect() {
  const token = new URLSearchParams(location.search).get('token');
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/' +
    (token ? '?token=' + encodeURIComponent(token) : '');
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onopen = () => {
    state.backoff = 500;
    setStatus(true, 'connected');
    ws.send(JSON.stringify({ cmd: 'show_account', args: { nr_slot: HISTORY_SLOTS } }));
    ws.send(JSON.stringify({ cmd: 'subscribe_account' }));
  };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    setStatus(false, 'disconnected, retrying…');
    setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 10000);
  };
}

window.addEventListener('resize', drawChart);
render();
connect();
