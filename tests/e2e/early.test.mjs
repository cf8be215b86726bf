// The first caption sooner: embed.js opens the feed socket while the wasm
// loads, and the widget adopts it with the frames it already received. The
// wasm is held back (page.route) so that "while it loads" is certain; the
// relay, the widget and Chromium are real. Connections are counted where they
// arrive: the relay's upgrades (101 responses in /metrics) or a scripted
// proxy in front of the relay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer, WebSocket } from 'ws';
import { startRelay, post, launchBrowser, watchConsole, waitForCaptions, startHostSite } from './harness.mjs';

let relay;
let browser;
let host; // a stream site on another origin
let hostUrl;
const pages = new Map();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
  host = await startHostSite(pages);
  hostUrl = host.url;
});

after(async () => {
  await browser?.close();
  host?.close();
  await relay?.stop();
  relay?.cleanup();
});

/** Feed upgrades the relay answered so far (its 1xx responses are 101s). */
async function upgrades() {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const m = text.match(/^chyron_http_requests_total\{class="1xx"\} (\d+)/m);
  return m ? Number(m[1]) : 0;
}

/**
 * Opens `url` with chyron_bg.wasm held back, once asked for, until the
 * promise `release()` returns resolves (or 5 s pass). Records each websocket the page opens ({ path, at, closed })
 * and when the wasm was let through (`wasmAt()`).
 */
async function openHeld(url, release) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = watchConsole(page);
  let wasmAt = null;
  await page.route('**/chyron_bg.wasm', async (route) => {
    await Promise.race([release(), sleep(5000)]);
    wasmAt = Date.now();
    await route.continue();
  });
  const sockets = [];
  page.on('websocket', (ws) => {
    const u = new URL(ws.url());
    const entry = { path: u.pathname + u.search, at: Date.now(), closed: false };
    ws.on('close', () => { entry.closed = true; });
    sockets.push(entry);
  });
  await page.goto(url);
  return { context, page, log, sockets, wasmAt: () => wasmAt };
}

test('the overlay opens its feed while the wasm loads; the widget adopts that socket: one connection', async () => {
  await post(relay, 'early', 'Ada', 'said before the page loaded');
  const before = await upgrades();
  const { context, page, log, sockets, wasmAt } = await openHeld(`${relay.url}/overlay/early?fade=60`, () => sleep(600));
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'said before the page loaded'));
  assert.ok(sockets.length > 0 && sockets[0].at < wasmAt(), 'the feed socket opened before the wasm arrived');
  await post(relay, 'early', 'Bob', 'after the load');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'after the load'));
  await sleep(300);
  assert.deepEqual(sockets.map((s) => [s.path, s.closed]), [['/feed/early?limit=3', false]]);
  assert.equal(await upgrades() - before, 1, 'one feed connection reached the relay');
  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

test('two elements on one page each adopt their own early socket; attribute changes after the load reconnect', async () => {
  await post(relay, 'two-a', 'Ada', 'for a');
  await post(relay, 'two-b', 'Bob', 'for b');
  pages.set('/two', `<!doctype html>
    <script src="${relay.url}/embed.js" async></script>
    <chyron-chat id="a" server="${relay.url}" channel="two-a" fade="60"></chyron-chat>
    <chyron-chat id="b" server="${relay.url}" channel="two-b" lines="2" fade="60"></chyron-chat>`);
  const before = await upgrades();
  const { context, page, log, sockets, wasmAt } = await openHeld(`${hostUrl}/two`, () => sleep(600));
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'for a'), { selector: '#a' });
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'for b'), { selector: '#b' });
  assert.deepEqual(sockets.map((s) => s.path).sort(), ['/feed/two-a?limit=3', '/feed/two-b?limit=2']);
  assert.ok(sockets.every((s) => s.at < wasmAt() && !s.closed), JSON.stringify({ sockets, wasmAt: wasmAt() }));
  assert.equal(await upgrades() - before, 2, 'one feed connection per element');

  // Once loaded, a changed attribute remounts with the widget's own socket.
  await page.evaluate(() => document.querySelector('#a').setAttribute('channel', 'two-c'));
  await post(relay, 'two-c', 'Cy', 'for c');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'for c') && !c.some((l) => l.body === 'for a'), { selector: '#a' });
  await post(relay, 'two-b', 'Bob', 'b still live');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'b still live'), { selector: '#b' });
  assert.deepEqual(sockets.map((s) => [s.path, s.closed]), [
    ['/feed/two-a?limit=3', true], ['/feed/two-b?limit=2', false], ['/feed/two-c?limit=3', false],
  ]);
  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

test('an attribute changed while the wasm loads re-opens the early socket for the new channel', async () => {
  await post(relay, 'mid-x', 'Ada', 'from x');
  await post(relay, 'mid-y', 'Bob', 'from y');
  pages.set('/mid', `<!doctype html>
    <script src="${relay.url}/embed.js" async></script>
    <chyron-chat server="${relay.url}" channel="mid-x" fade="60"></chyron-chat>`);
  let release;
  const gate = new Promise((r) => { release = r; });
  const { context, page, sockets } = await openHeld(`${hostUrl}/mid`, () => gate);
  await page.waitForFunction(() => customElements.get('chyron-chat'));
  await page.evaluate(() => document.querySelector('chyron-chat').setAttribute('channel', 'mid-y'));
  await sleep(100);
  release();
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'from y'));
  await sleep(300);
  assert.deepEqual(sockets.map((s) => [s.path, s.closed]), [['/feed/mid-x?limit=3', true], ['/feed/mid-y?limit=3', false]]);
  assert.ok(!(await page.evaluate(() => document.querySelector('chyron-chat').shadowRoot.textContent)).includes('from x'));
  await context.close();
});

/**
 * A feed in front of the relay that fails the first connection its own way
 * (`first(client, upstream)`) and passes every later one through.
 */
async function scriptedProxy(first) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((ok) => wss.on('listening', ok));
  const requests = [];
  let firstClosed;
  const firstDone = new Promise((r) => { firstClosed = r; });
  wss.on('connection', (client, req) => {
    const n = requests.push(new URL(req.url, 'http://x'));
    const upstream = new WebSocket(relay.url.replace(/^http/, 'ws') + req.url);
    upstream.on('error', () => {}); // closed while connecting: nothing to tell
    client.on('close', () => { upstream.terminate(); if (n === 1) firstClosed(Date.now()); });
    upstream.on('close', () => client.close());
    if (n === 1) return first(client, upstream);
    upstream.on('message', (data) => client.send(data.toString()));
  });
  return { url: `http://127.0.0.1:${wss.address().port}`, requests, firstDone, close: () => wss.close() };
}

for (const [name, first, resumes] of [
  ['fails before any frame', (client) => client.terminate(), false],
  ['closes after the snapshot', (client, upstream) => upstream.once('message', (d) => { client.send(d.toString()); client.close(); }), true],
]) {
  test(`an early socket that ${name} still leads to captions: the widget reconnects (and resumes)`, async () => {
    const channel = `fail-${resumes ? 'late' : 'now'}`;
    await post(relay, channel, 'Ada', 'in the snapshot');
    const proxy = await scriptedProxy(first);
    pages.set(`/${channel}`, `<!doctype html>
      <script src="${relay.url}/embed.js" async></script>
      <chyron-chat server="${proxy.url}" channel="${channel}" fade="60"></chyron-chat>`);
    // The wasm arrives only after the early socket is gone.
    const { context, page, log, wasmAt } = await openHeld(`${hostUrl}/${channel}`, () => proxy.firstDone.then(() => sleep(50)));
    await waitForCaptions(page, (c) => c.some((l) => l.body === 'in the snapshot'));
    const closedAt = await proxy.firstDone;
    assert.ok(closedAt < wasmAt(), 'the early socket was gone before the wasm arrived');
    await post(relay, channel, 'Bob', 'after the failure');
    await waitForCaptions(page, (c) => c.some((l) => l.body === 'after the failure'));
    const query = proxy.requests.map((u) => [u.searchParams.get('epoch') !== null, u.searchParams.get('since')]);
    assert.equal(query.length, 2, `two connections: ${JSON.stringify(query)}`);
    // Frames the early socket got before it closed were handed over: the
    // reconnect resumes after the snapshot instead of starting over.
    assert.deepEqual(query[1], resumes ? [true, '1'] : [false, null]);
    const shown = (await waitForCaptions(page, () => true)).map((l) => l.body);
    assert.deepEqual(shown, ['in the snapshot', 'after the failure']);
    assert.deepEqual(log.pageErrors, []);
    await context.close();
    proxy.close();
  });
}
