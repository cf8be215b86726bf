// Embedding on a stream site: the host page lives on another origin than the
// relay; one script tag or a bare element; bad attributes; style isolation;
// and the widget against a scripted feed (unknown frames, resume by seq).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { startRelay, post, launchBrowser, watchConsole, waitForCaptions, startHostSite } from './harness.mjs';

let relay;
let browser;
let host; // a stream site on another origin
let hostUrl;
const pages = new Map();

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

async function open(path, html) {
  pages.set(path, html);
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(hostUrl + path);
  return { page, context, log };
}

test('one script tag on another origin inserts the widget into data-target; styles do not leak either way', async () => {
  const { page, context, log } = await open('/stream', `<!doctype html>
    <style>* { color: rgb(255, 0, 0) !important; font-size: 40px; } p { margin: 7px; }</style>
    <div id="player" style="position:relative;width:800px;height:450px;background:#fff"></div>
    <p id="mine">host text</p>
    <script src="${relay.url}/embed.js" data-channel="cross" data-target="#player" data-fade="60" async></script>`);
  await page.waitForFunction(() => document.querySelector('#player > chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
  await post(relay, 'cross', 'Ada', 'across origins');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'across origins'));
  const styles = await page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const body = root.querySelector('[part~="caption-body"]');
    const mine = document.querySelector('#mine');
    return { caption: getComputedStyle(body).color, hostP: getComputedStyle(mine).color, hostMargin: getComputedStyle(mine).marginTop };
  });
  assert.notEqual(styles.caption, 'rgb(255, 0, 0)', 'host styles do not reach into the widget');
  assert.equal(styles.hostP, 'rgb(255, 0, 0)');
  assert.equal(styles.hostMargin, '7px', 'widget styles do not reach the host page');
  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

for (const position of ['top-left', 'bottom-right', 'top-center']) {
  test(`position="${position}" puts captions in that part of the player`, async () => {
    const channel = `pos-${position}`;
    const { page, context } = await open(`/${channel}`, `<!doctype html>
      <div id="player" style="position:relative;width:900px;height:500px;margin:20px;background:#eee"></div>
      <script src="${relay.url}/embed.js" data-channel="${channel}" data-target="#player" data-position="${position}" data-fade="60" async></script>`);
    await page.waitForFunction(() => document.querySelector('#player chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
    await post(relay, channel, 'Ada', 'where am I');
    await waitForCaptions(page, (c) => c.length === 1);
    const box = await page.evaluate(() => {
      const player = document.querySelector('#player').getBoundingClientRect();
      const line = document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="caption"]').getBoundingClientRect();
      return { x: (line.left + line.width / 2 - player.left) / player.width, y: (line.top + line.height / 2 - player.top) / player.height };
    });
    const [vertical, horizontal] = position.split('-');
    assert.ok(vertical === 'top' ? box.y < 0.33 : box.y > 0.67, `vertical ${box.y}`);
    const expectX = { left: [0, 0.4], center: [0.4, 0.6], right: [0.6, 1] }[horizontal];
    assert.ok(box.x >= expectX[0] && box.x <= expectX[1], `horizontal ${box.x}`);
    await context.close();
  });
}

test('the bare element works alone and is themed through custom properties and ::part()', async () => {
  const { page, context } = await open('/bare', `<!doctype html>
    <style>
      chyron-chat { --chyron-font-size: 31px; }
      chyron-chat::part(caption-body) { text-decoration: underline; }
    </style>
    <script src="${relay.url}/embed.js" async></script>
    <chyron-chat server="${relay.url}" channel="bare" fade="60" placement="inline"></chyron-chat>`);
  await page.waitForFunction(() => document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
  await post(relay, 'bare', 'Ada', 'themed');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'themed'));
  const look = await page.evaluate(() => {
    const body = document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="caption-body"]');
    const cs = getComputedStyle(body);
    return { size: cs.fontSize, deco: cs.textDecorationLine };
  });
  assert.equal(look.size, '31px');
  assert.equal(look.deco, 'underline');
  await context.close();
});

for (const [name, attrs, expected] of [
  ['no channel', `server="RELAY"`, /channel/i],
  ['an invalid channel', `server="RELAY" channel="../../etc"`, /channel/i],
  ['an invalid server URL', `server="not a url" channel="demo"`, /server/i],
  ['a non-http server URL', `server="javascript:alert(1)" channel="demo"`, /server/i],
]) {
  test(`${name}: a clear message in the widget and the console; the host page keeps working`, async () => {
    const { page, context, log } = await open(`/bad-${name.replace(/\W/g, '')}`, `<!doctype html>
      <script src="${relay.url}/embed.js" async></script>
      <chyron-chat ${attrs.replace('RELAY', relay.url)}></chyron-chat>
      <button id="b" onclick="this.textContent='still works'">click</button>`);
    await page.waitForFunction(() => document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="error"]'));
    const message = await page.evaluate(() => document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="error"]').textContent);
    assert.match(message, expected);
    assert.ok(log.errors.some((e) => expected.test(e)), `console says so: ${log.errors}`);
    await page.click('#b');
    assert.equal(await page.textContent('#b'), 'still works');
    assert.deepEqual(log.pageErrors, []);
    await context.close();
  });
}

test('against a scripted feed: unknown frames are ignored, reconnects resume by epoch and seq, gaps are refetched', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((ok) => wss.on('listening', ok));
  const feedUrl = `http://127.0.0.1:${wss.address().port}`;
  const requests = [];
  const msg = (seq, body) => JSON.stringify({ type: 'message', seq, message: { id: `m${seq}`, sender: 'Bot', sender_id: 'bot', body, ts: Date.now(), source: 'api' } });
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url, feedUrl);
    requests.push({ path: url.pathname, epoch: url.searchParams.get('epoch'), since: url.searchParams.get('since') });
    const n = requests.length;
    if (n === 1) {
      ws.send(JSON.stringify({ type: 'snapshot', channel: 'scripted', epoch: 'e1', seq: 1, reason: 'initial', messages: [{ id: 'm1', sender: 'Bot', sender_id: 'bot', body: 'one', ts: Date.now(), source: 'api' }] }));
      ws.send(JSON.stringify({ type: 'typing', who: 'someone', future: { nested: true } }));
      ws.send('not json at all');
      ws.send(msg(2, 'two'));
      ws.send(msg(2, 'two'));  // a duplicate must not show twice
      setTimeout(() => ws.close(), 200);
    } else if (n === 2) {
      ws.send(msg(3, 'three'));
      ws.send(msg(5, 'five'));  // seq 4 is missing: the widget must resume from 3
    } else {
      ws.send(msg(4, 'four'));
      ws.send(msg(5, 'five'));
    }
  });
  const { page, context, log } = await open('/scripted', `<!doctype html>
    <script src="${relay.url}/embed.js" async></script>
    <chyron-chat server="${feedUrl}" channel="scripted" lines="10" fade="60"></chyron-chat>`);
  const shown = await waitForCaptions(page, (c) => c.some((l) => l.body === 'five'), { timeout: 15000 });
  assert.deepEqual(shown.map((l) => l.body), ['one', 'two', 'three', 'four', 'five']);
  assert.equal(requests[0].since, null);
  assert.deepEqual(requests.slice(1, 3).map((r) => [r.epoch, r.since]), [['e1', '2'], ['e1', '3']]);
  assert.ok(requests.every((r) => r.path === '/feed/scripted'));
  assert.deepEqual(log.pageErrors, []);
  await context.close();
  wss.close();
});
