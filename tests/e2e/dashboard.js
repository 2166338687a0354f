// dashboard.js PORT SCREENSHOT — run by dashboard.sh (NODE_PATH has playwright-core).
'use strict';
const { chromium } = require('playwright-core');
const [port, shot] = process.argv.slice(2);
let failed = 0;
const report = (name, ok, diag) => {
  console.log((ok ? 'ok ' : 'not ok ') + name);
  if (!ok) { failed++; if (diag !== undefined) console.log('# ' + JSON.stringify(diag).slice(0, 400)); }
};

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 820 } });
    const foreign = [], errors = [];
    page.on('request', (r) => { if (!r.url().startsWith(`http://127.0.0.1:${port}/`) && !r.url().startsWith(`ws://127.0.0.1:${port}/`)) foreign.push(r.url()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load' });

    const busy = 'tr[data-cgroup="test_cgroup_b/test_cgroup_b_sub1"] td.cpu';
    const okBusy = await page.waitForFunction((sel) => {
      const td = document.querySelector(sel);
      return td && td.dataset.value !== '' && Number(td.dataset.value) > 0;
    }, busy, { timeout: 15000 }).then(() => true, () => false);
    report('the busy cgroup shows non-zero CPU', okBusy);
    const rows = await page.$$eval('#tree tbody tr', (trs) => trs.map((tr) => tr.dataset.cgroup));
    report('the tree lists the test cgroups', ['/', 'test_cgroup_a', 'test_cgroup_b', 'test_cgroup_b/test_cgroup_b_sub1'].every((c) => rows.includes(c)), rows);
    const cpu = Number(await page.$eval(busy, (td) => td.dataset.value));
    report(`the busy cgroup's CPU is its rate: 75 % of a core (shows ${cpu.toFixed(1)} %)`, Math.abs(cpu - 75) < 1, cpu);
    const idle = await page.$eval('tr[data-cgroup="test_cgroup_a"] td.cpu', (td) => td.textContent);
    report('the idle cgroup shows 0.0%', idle === '0.0%', idle);
    const wr = await page.$eval('tr[data-cgroup="test_cgroup_a"] td.wr', (td) => td.textContent);
    report('write rate of test_cgroup_a is 1 MiB/s', wr === '1.0 MiB/s', wr);
    // live: the latest-sample label moves on
    const t1 = await page.$eval('#sample', (e) => e.textContent);
    const moved = await page.waitForFunction((t) => document.querySelector('#sample').textContent !== t, t1, { timeout: 5000 }).then(() => true, () => false);
    report('updates live each second', moved, t1);
    report('status says live', (await page.$eval('#status', (e) => e.textContent)) === 'live');
    // the history chart is drawn (non-blank pixels in the plot area)
    await page.click('tr[data-cgroup="test_cgroup_b/test_cgroup_b_sub1"]');
    const inked = await page.$eval('#chart', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > 150 && d[i] < 100) n++; // blue CPU line
      return n;
    });
    report(`the history chart draws the CPU line (${inked} px)`, inked > 100, inked);
    const points = await page.evaluate(() => (state.series.get('test_cgroup_b/test_cgroup_b_sub1') || []).length);
    report(`history from show_account is loaded (${points} points)`, points >= 100, points);
    report('nothing loaded from elsewhere', foreign.length === 0, foreign);
    report('no errors in the page', errors.length === 0, errors);
    await page.screenshot({ path: shot, fullPage: true });
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log('not ok browser run: ' + e); process.exit(1); });
