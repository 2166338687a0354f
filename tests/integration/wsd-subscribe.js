// wsd-subscribe.js PORT REDIS_PORT PREFIX — run by wsd-subscribe.sh with node's built-in
// WebSocket. Publishes a sample each wall-clock second with redis-cli and checks the pushes.
'use strict';
const { execFileSync } = require('child_process');
const [port, redisPort, prefix] = process.argv.slice(2);
let failed = 0;
const report = (name, ok, diag) => {
  console.log((ok ? 'ok ' : 'not ok ') + name);
  if (!ok) { failed++; if (diag !== undefined) console.log('# ' + JSON.stringify(diag)); }
};
const redis = (...args) => execFileSync('redis-cli', ['-p', redisPort, ...args]).toString();
const sample = (slot) => JSON.stringify({ cpu: { value: { usage: slot * 1000 }, sub_cgroup: { busy: { value: { usage: slot * 500 } } } } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`);
    ws.msgs = [];
    ws.waiters = [];
    ws.onmessage = (ev) => {
      const m = { at: Date.now(), data: JSON.parse(ev.data) };
      const w = ws.waiters.shift();
      w ? w(m) : ws.msgs.push(m);
    };
    ws.onopen = () => resolve(ws);
    ws.onerror = reject;
  });
}
const next = (ws, ms = 3000) => new Promise((resolve) => {
  if (ws.msgs.length) return resolve(ws.msgs.shift());
  const timer = setTimeout(() => { ws.waiters = ws.waiters.filter((f) => f !== done); resolve(null); }, ms);
  const done = (m) => { clearTimeout(timer); resolve(m); };
  ws.waiters.push(done);
});

(async () => {
  const a = await open(), b = await open();
  a.send(JSON.stringify({ cmd: 'subscribe_account' }));
  b.send(JSON.stringify({ cmd: 'subscribe_account' }));
  const ackA = await next(a), ackB = await next(b);
  report('subscribe_account acknowledged', ackA && ackA.data.subscribed === true && ackB && ackB.data.subscribed === true, [ackA, ackB]);

  const pushes = [], lat = [], published = [];
  let last = 0;
  for (let i = 0; i < 4; i++) {
    // publish right after each wall-clock second, like cg-accountd
    await sleep(1000 - (Date.now() % 1000) + 5);
    const slot = Math.round(Date.now() / 1000);
    published.push([slot]);
    redis('set', `${prefix}/account/${slot}`, sample(slot), 'ex', '60');
    const t0 = Date.now();
    redis('publish', `${prefix}/account`, String(slot));
    const m = await next(a, 2000);
    if (m) { pushes.push(Object.keys(m.data).map(Number)); lat.push(m.at - t0); }
    const mb = await next(b, 2000);
    if (!mb || JSON.stringify(Object.keys(mb.data)) !== JSON.stringify([String(slot)])) report('second subscriber got slot ' + slot, false, mb);
    last = slot;
  }
  // each push is exactly the slot published just before it (a slow round, e.g. in the sanitizer
  // pass, may publish at the second after next: the slots then skip one, the pushes must follow)
  report('a push each second, one slot each, in order', JSON.stringify(pushes) === JSON.stringify(published), [pushes, published]);
  report('pushes arrive promptly (max ' + Math.max(...lat) + ' ms)', lat.length === 4 && Math.max(...lat) < 500 * (Number(process.env.CGARCH_TIME_FACTOR) || 1), lat);

  // a duplicate publish of an old slot is not pushed again
  redis('publish', `${prefix}/account`, String(last));
  report('a replayed slot is not pushed twice', (await next(a, 700)) === null);

  a.send(JSON.stringify({ cmd: 'unsubscribe_account' }));
  const un = await next(a);
  report('unsubscribe_account acknowledged', un && un.data.subscribed === false, un);
  const slot = last + 1;
  redis('set', `${prefix}/account/${slot}`, sample(slot), 'ex', '60');
  redis('publish', `${prefix}/account`, String(slot));
  const mb = await next(b, 2000);
  report('the other subscriber still gets pushes', mb && (String(slot) in mb.data), mb);
  report('after unsubscribe_account nothing is pushed', (await next(a, 700)) === null);
  a.close(); b.close();
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log('not ok unexpected: ' + e); process.exit(1); });
