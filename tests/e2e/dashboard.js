// dashboard.js PORT SHOTDIR — run by dashboard.sh (NODE_PATH has playwright-core, ws, axe-core),
// against cg-wsd fed by dashboard-feed.py. Prints TAP-like "ok name" / "not ok name" lines.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const WebSocket = require('ws');

const [port, shots] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}/`;
const LONG = 'batch_jobs_with_a_rather_long_cgroup_name_for_narrow_windows';
const A = 'test_cgroup_a', B = 'test_cgroup_b', SUB = 'test_cgroup_b/test_cgroup_b_sub1';
const TREE = ['/', LONG, A, B, SUB];
// axe-core's rule set: WCAG 2.0/2.1/2.2 A and AA, and Deque's best practices. A violation of
// serious or critical impact fails; the others are listed as diagnostics.
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const AXE_SRC = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let failed = 0;
const report = (name, ok, diag) => {
  console.log((ok ? 'ok ' : 'not ok ') + name);
  if (!ok) { failed++; if (diag !== undefined) console.log('# ' + JSON.stringify(diag).slice(0, 600)); }
  return ok;
};
const waitFor = (page, fn, arg, ms = 10000) => page.waitForFunction(fn, arg, { timeout: ms }).then(() => true, () => false);
const rowsNow = (page) => page.$$eval('#tree tbody tr.row', (trs) => trs.map((tr) => tr.dataset.cgroup));
const cell = (page, cg, sel) => page.$eval(`tr[data-cgroup="${cg}"] ${sel}`, (e) => e.textContent);

// The raw websocket answer to get_host (what the page shows).
function getHost() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const t = setTimeout(() => { ws.terminate(); reject(new Error('no answer to get_host')); }, 5000);
    ws.on('open', () => ws.send('{"cmd": "get_host"}'));
    ws.on('message', (m) => { clearTimeout(t); ws.close(); resolve(JSON.parse(String(m))); });
    ws.on('error', reject);
  });
}

// A page of its own (own localStorage) at this width, once the samples, conf and placements are in.
async function open(browser, width) {
  const ctx = await browser.newContext({ viewport: { width, height: width < 500 ? 780 : 900 } });
  const page = await ctx.newPage();
  const foreign = [], errors = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith(`ws://127.0.0.1:${port}/`)) foreign.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(base, { waitUntil: 'load' });
  const ready = await waitFor(page, () => {
    const td = document.querySelector('tr[data-cgroup="test_cgroup_b/test_cgroup_b_sub1"] td.cpu');
    return td && td.dataset.value !== '' && document.querySelectorAll('#placements li').length > 0 &&
      /conf version/.test(document.querySelector('#conf-version').textContent);
  }, null, 15000);
  return { ctx, page, foreign, errors, ready };
}

async function axe(page, w) {
  await page.evaluate(AXE_SRC);
  const res = await page.evaluate((tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), AXE_TAGS);
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of res.violations)
    console.log(`# axe at ${w} px: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  report(`axe-core ${require('axe-core/package.json').version} at ${w} px (${AXE_TAGS.join(', ')}; ${res.passes.length} rules passed): no serious or critical violation`,
    bad.length === 0, bad.map((v) => v.id));
}

// Keyboard: one tab stop for the table, arrows/Home/End move (and select), Enter and Space open
// and close the row's details; the focus is visible.
async function keyboard(page, w) {
  await page.focus('#sort');
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => {
    const a = document.activeElement, tr = a && a.closest('tr.row');
    return tr ? tr.dataset.cgroup : (a && a.outerHTML.slice(0, 80));
  });
  const order = await rowsNow(page);
  const selected = await page.$eval('#tree tr.row.selected', (tr) => tr.dataset.cgroup).catch(() => null);
  report(`${w} px: Tab after the sort menu reaches the table's one tab stop, the selected row (${first})`, first === selected && first !== null, { first, selected });
  const tabStops = await page.$$eval('#tree button.open', (bs) => bs.filter((b) => b.tabIndex === 0).length);
  report(`${w} px: the table is one tab stop (${tabStops} row with tabindex 0)`, tabStops === 1, tabStops);
  const focus = await page.evaluate(() => {
    const a = document.activeElement, s = getComputedStyle(a);
    return { visible: a.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  report(`${w} px: the focused row shows a focus ring (${focus.style} ${focus.width}px)`, focus.visible && focus.style !== 'none' && focus.width >= 2, focus);
  const at = () => page.evaluate(() => {
    const tr = document.activeElement.closest('tr.row');
    return tr ? { cg: tr.dataset.cgroup, sel: tr.classList.contains('selected'), chart: document.querySelector('#chart-title').textContent } : null;
  });
  await page.keyboard.press('Home');
  let now = await at();
  report(`${w} px: Home moves to the first row`, now && now.cg === order[0] && now.sel, now);
  await page.keyboard.press('ArrowDown');
  now = await at();
  report(`${w} px: ArrowDown moves to the next row and selects it (the chart follows)`, now && now.cg === order[1] && now.sel && now.chart === '/' + order[1], now);
  await page.keyboard.press('ArrowUp');
  now = await at();
  report(`${w} px: ArrowUp moves back`, now && now.cg === order[0], now);
  await page.keyboard.press('End');
  now = await at();
  report(`${w} px: End moves to the last row`, now && now.cg === order[order.length - 1], now);
  await page.keyboard.press('Home');
  for (let i = 0; i < order.length && (await at()).cg !== A; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const opened = await page.evaluate((cg) => {
    const tr = document.querySelector(`tr[data-cgroup="${cg}"]`), d = document.getElementById(tr.querySelector('button').getAttribute('aria-controls'));
    return { expanded: tr.querySelector('button').getAttribute('aria-expanded'), shown: !d.hidden && d.getBoundingClientRect().height > 0, text: d.textContent };
  }, A);
  report(`${w} px: Enter opens ${A}'s details (aria-expanded, shown)`, opened.expanded === 'true' && opened.shown, opened);
  report(`${w} px: the details list every limit beside its usage`,
    ['usage 412 MiB', 'max 1 GiB', 'high 800 MiB', 'write ≤ 10 MiB/s on 8:0', 'weight 500', 'max 100', '3 OOM kills',
      'refused', 'owned by uid 1000'].every((s) => opened.text.includes(s)), opened.text);
  await page.keyboard.press(' ');
  const closed = await page.evaluate((cg) => {
    const tr = document.querySelector(`tr[data-cgroup="${cg}"]`);
    return { expanded: tr.querySelector('button').getAttribute('aria-expanded'), hidden: document.getElementById(tr.querySelector('button').getAttribute('aria-controls')).hidden, focused: document.activeElement === tr.querySelector('button') };
  }, A);
  report(`${w} px: Space closes them again, the focus stays`, closed.expanded === 'false' && closed.hidden && closed.focused, closed);
}

// Nothing wider than the window: not the document, not a panel; and no row or cell out of its
// panel's box.
async function layout(page, w) {
  const m = await page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('#tree tr.row, #tree td, #placements li, #chart')) {
      const p = e.closest('.panel').getBoundingClientRect(), r = e.getBoundingClientRect();
      if (r.width && (r.right > p.right + 0.5 || r.left < p.left - 0.5)) out.push((e.closest('tr') || e).dataset.cgroup + ' ' + e.className);
    }
    return {
      scroll: document.scrollingElement.scrollWidth, inner: innerWidth, out,
      widest: Math.max(...[...document.querySelectorAll('header, .panel')].map((e) => e.getBoundingClientRect().right)),
    };
  });
  report(`${w} px: no horizontal overflow (scrollWidth ${m.scroll} <= ${m.inner}, widest panel ends at ${Math.round(m.widest)}, nothing out of its panel)`,
    m.scroll <= m.inner && m.widest <= m.inner && m.out.length === 0, m);
}

async function checks(page, w) {
  // the host
  const host = os.hostname();
  const title = await page.title(), shown = await page.$eval('#host', (e) => e.textContent);
  report(`${w} px: the host name is in the title ("${title}") and the header`, title === `${host} — cgrouparch` && shown === host, { title, shown, host });
  // tree order by default
  report(`${w} px: tree order by default`, JSON.stringify(await rowsNow(page)) === JSON.stringify(TREE), await rowsNow(page));
  // each limit beside its usage, in the row itself
  const want = [
    [A, 'td.mem .v', '412 MiB / 1 GiB max'], [A, 'td.mem .lim', 'peak 500 MiB · high 800 MiB · 3 OOM kills'],
    [A, 'td.pids .v', '12 / 100 max'], [A, 'td.io .v', '0 B/s / 1 MiB/s'], [A, 'td.io .lim', 'weight 500 · wr ≤ 10 MiB/s'],
    [A, 'td.cpu .lim', 'share 1024'], [SUB, 'td.cpu .v', '75.0% / 80% quota'], [SUB, 'td.cpu .lim', 'share 200 · throttled 10.0%'],
    [SUB, 'td.psi .v', '20.0% cpu'], [LONG, 'td.mem .v', '900 MiB / 2 GiB max'], [LONG, 'td.mem .lim', 'peak 900 MiB · low 256 MiB'],
    [SUB, 'td.io .v', '–'],
  ];
  const got = [];
  for (const [cg, sel] of want) got.push(await cell(page, cg, sel));
  const wrong = want.filter((x, i) => got[i] !== x[2]).map((x, i) => ({ cell: x[0] + ' ' + x[1], want: x[2] }));
  report(`${w} px: limits beside usage (e.g. "${want[0][2]}", "${want[6][2]}")`, wrong.length === 0,
    want.map((x, i) => [x[0], x[1], got[i]]).filter((x, i) => got[i] !== want[i][2]));
  // placements
  const pl = await page.$$eval('#placements li', (lis) => lis.map((li) => ({ cls: li.className, rule: li.dataset.rule, text: li.textContent })));
  report(`${w} px: the refused and pending placements, with their reasons`, pl.length === 2 &&
    pl[0].cls.includes('refused') && pl[0].rule === A && pl[0].text.includes('owned by uid 1000') && pl[0].text.includes('/home/u/a.pid') &&
    pl[1].cls.includes('pending') && pl[1].rule === LONG && pl[1].text.includes('does not exist yet'), pl);
  const counts = await page.$eval('#pl-counts', (e) => e.textContent);
  report(`${w} px: placement counts ${counts}`, counts.includes('1 placed · 1 pending · 1 refused of 3'), counts);
  const badge = await page.$eval(`tr[data-cgroup="${A}"] .badge`, (e) => (e.hidden ? '' : e.textContent));
  report(`${w} px: ${A}'s row says "1 refused"`, badge === '1 refused', badge);
}

// Only the axes of the series a cgroup has: no IO axis for one without blkio.
async function axes(page, w) {
  const look = async (cg) => {
    await page.evaluate((cg) => select(cg === '/' ? '' : cg), cg);
    return page.$eval('#chart', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, r = devicePixelRatio || 1;
      const [L, , w] = c.dataset.plot.split(' ').map(Number), x0 = Math.ceil((L + w + 2) * r); // right of the plot
      let ink = 0;
      for (let y = 0; y < c.height; y++) for (let x = x0; x < c.width; x++) if (d[(y * c.width + x) * 4 + 3] > 0) ink++;
      return { axes: c.dataset.axes, legend: document.querySelector('#legend').textContent, ink };
    });
  };
  const sub = await look(SUB), a = await look(A);
  report(`${w} px: ${SUB} (no blkio) has no IO axis: axes "${sub.axes}", nothing drawn right of the plot, no read/write in the legend`,
    sub.axes === '%' && sub.ink === 0 && !/read|write/.test(sub.legend) && /pressure/.test(sub.legend), sub);
  report(`${w} px: ${A} (blkio) has its IO axis: axes "${a.axes}", labels drawn right of the plot`,
    a.axes === '% io' && a.ink > 50 && /write/.test(a.legend), a);
}

// Each sort, and the choice remembered across a reload.
async function sorts(page, w) {
  const firsts = { cpu: B, io: A, mem: LONG, psi: SUB };
  for (const [how, want] of Object.entries(firsts)) {
    await page.selectOption('#sort', how);
    const rows = await rowsNow(page);
    const th = await page.$$eval('#tree th[aria-sort]', (ths) => ths.map((t) => t.dataset.sort));
    report(`${w} px: sort by ${how}: the root, then ${want} on top`, rows[0] === '/' && rows[1] === want && rows.length === TREE.length &&
      JSON.stringify(th) === JSON.stringify([how]), { rows, th });
  }
  const cpuOrder = ['/', B, SUB, LONG, A];
  await page.selectOption('#sort', 'cpu');
  report(`${w} px: by CPU, the whole order`, JSON.stringify(await rowsNow(page)) === JSON.stringify(cpuOrder), await rowsNow(page));
  const sub = await cell(page, SUB, 'button.open');
  report(`${w} px: outside tree order a row names its parents ("${sub}")`, sub === SUB, sub);
  await page.selectOption('#sort', 'mem');
  await page.reload({ waitUntil: 'load' });
  await waitFor(page, () => document.querySelectorAll('#tree tr.row').length >= 5 && document.querySelector('tr[data-cgroup="test_cgroup_b/test_cgroup_b_sub1"] td.cpu').dataset.value !== '', null, 15000);
  const kept = await page.$eval('#sort', (s) => s.value), rows = await rowsNow(page);
  report(`${w} px: the sort is remembered across a reload (${kept}, ${rows[1]} on top)`, kept === 'mem' && rows[1] === LONG, { kept, rows });
  await page.selectOption('#sort', 'tree');
  report(`${w} px: back to tree order`, JSON.stringify(await rowsNow(page)) === JSON.stringify(TREE), await rowsNow(page));
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const h = await getHost();
    report('get_host answers this host\'s name and the Redis prefix', h.host === os.hostname() && h.redis_prefix === 'cgroup_arch', h);

    // ---- desktop ----
    let { ctx, page, foreign, errors, ready } = await open(browser, 1280);
    report('1280 px: samples, conf and placements shown', ready);
    const cpu = Number(await page.$eval(`tr[data-cgroup="${SUB}"] td.cpu`, (td) => td.dataset.value));
    report(`the busy cgroup's CPU is its rate: 75 % of a core (shows ${cpu.toFixed(1)} %)`, Math.abs(cpu - 75) < 1, cpu);
    const idle = await cell(page, A, 'td.cpu .v');
    report('the idle cgroup shows 0.0%', idle === '0.0%', idle);
    const t1 = await page.$eval('#sample', (e) => e.textContent);
    report('updates live each second', await waitFor(page, (t) => document.querySelector('#sample').textContent !== t, t1, 5000), t1);
    report('status says live', (await page.$eval('#status', (e) => e.textContent)) === 'live');
    await page.click(`tr[data-cgroup="${SUB}"]`);
    const inked = await page.$eval('#chart', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > 150 && d[i] < 100) n++; // blue CPU line
      return n;
    });
    report(`a click selects a row: the history chart draws its CPU line (${inked} px)`, inked > 100, inked);
    const points = await page.evaluate((p) => (state.series.get(p) || []).length, SUB);
    report(`history from show_account is loaded (${points} points)`, points >= 100, points);
    await page.click(`tr[data-cgroup="${SUB}"]`); // closes the details the click opened
    await checks(page, 1280);
    await axes(page, 1280);
    await layout(page, 1280);
    for (const mid of [1279, 1100, 1000, 999, 900, 861, 860, 600]) { // the table down to 861 px, then cards
      await page.setViewportSize({ width: mid, height: 900 });
      await layout(page, mid);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await keyboard(page, 1280);
    await sorts(page, 1280);
    await page.evaluate((p) => { select(p); toggle(p); }, A);
    await axe(page, 1280); // with a row's details open
    await page.evaluate((p) => { toggle(p); select(p); document.activeElement.blur(); }, A);
    await page.evaluate((p) => select(p), SUB);
    await page.screenshot({ path: path.join(shots, 'dashboard-1280.png'), fullPage: true });
    report('1280 px: nothing loaded from elsewhere', foreign.length === 0, foreign);
    report('1280 px: no errors in the page', errors.length === 0, errors);
    await ctx.close();

    // ---- a phone ----
    ({ ctx, page, foreign, errors, ready } = await open(browser, 360));
    report('360 px: samples, conf and placements shown', ready);
    await checks(page, 360);
    await layout(page, 360);
    await keyboard(page, 360);
    await axes(page, 360);
    await page.evaluate((p) => { select(p); toggle(p); }, A);
    await layout(page, 360);
    await axe(page, 360);
    await page.screenshot({ path: path.join(shots, 'dashboard-360.png'), fullPage: true });
    report('360 px: no errors in the page', errors.length === 0, errors);
    await ctx.close();
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log('not ok browser run: ' + e); process.exit(1); });
