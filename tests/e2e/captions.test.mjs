// The caption overlay end to end: the real relay serving the real widget to
// headless Chromium; messages posted through the HTTP API; assertions on what
// the shadow root shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, startRelay, api, post, launchBrowser, watchConsole, captionTexts, waitForCaptions,
} from './harness.mjs';

const OUT = join(ROOT, 'tests', 'e2e', 'out');
mkdirSync(OUT, { recursive: true });

let relay;
let browser;

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await relay?.stop();
  relay?.cleanup();
});

async function openPage(path, { reducedMotion } = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 640 }, reducedMotion });
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(relay.url + path);
  // The widget is mounted once the shadow root holds the captions container.
  await page.waitForFunction(() =>
    document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
  return { page, context, log };
}

test('the demo page shows a posted line as a caption, then edits, deletes and clears it', async () => {
  const { page, context, log } = await openPage('/');
  const first = await post(relay, 'demo', 'Ada', 'Hello from the API');
  assert.ok(first.id && Number.isInteger(first.seq), 'answer holds id and seq');
  await waitForCaptions(page, (c) => c.some((l) => l.sender?.includes('Ada') && l.body === 'Hello from the API'));

  await page.waitForTimeout(400); // let the video paint a frame behind the caption
  await page.screenshot({ path: join(OUT, 'demo-page.png') });

  const edit = await api(relay, 'PUT', `/api/v1/channels/demo/messages/${first.id}`, { body: 'Hello, edited' });
  assert.equal(edit.status, 200);
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'Hello, edited') && !c.some((l) => l.body === 'Hello from the API'));

  const del = await api(relay, 'DELETE', `/api/v1/channels/demo/messages/${first.id}`);
  assert.equal(del.status, 200);
  await waitForCaptions(page, (c) => !c.some((l) => l.body === 'Hello, edited'));

  await post(relay, 'demo', 'spammer', 'buy now 1');
  await post(relay, 'demo', 'Grace', 'a real question');
  await post(relay, 'demo', 'spammer', 'buy now 2');
  await waitForCaptions(page, (c) => c.filter((l) => l.body?.startsWith('buy now')).length === 2);
  const clear = await api(relay, 'POST', '/api/v1/channels/demo/users/spammer/clear');
  assert.equal(clear.status, 200);
  const after = await waitForCaptions(page, (c) => !c.some((l) => l.body?.startsWith('buy now')));
  assert.ok(after.some((l) => l.body === 'a real question'), 'other senders stay');

  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

test('at most `lines` captions show, newest last, and they fade away after `fade` seconds', async () => {
  const { page, context } = await openPage('/overlay/lines-test?lines=2&fade=2');
  for (const n of [1, 2, 3]) await post(relay, 'lines-test', 'counter', `line ${n}`);
  const shown = await waitForCaptions(page, (c) => c.length === 2 && c[1].body === 'line 3');
  assert.deepEqual(shown.map((l) => l.body), ['line 2', 'line 3']);
  await waitForCaptions(page, (c) => c.length === 0, { timeout: 6000 });
  await context.close();
});

const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=2</script>',
  '"><svg onload=window.__pwned=3>',
  '<style>*{display:none!important}</style>visible',
  'javascript:window.__pwned=4',
  '\u202Eevil override\u202C then normal',
  'Z̷̢̛̛̤͎̰̣̹̪̱̈́̊̿̈́͒̓̀a̸̡̛̱̹̗̪̗͓̖̹̒̾͑́̿͋͌̚l̸̨̢̛̮̰̜̩̥͇̄̔̓̓̈́̎̕g̸̡̨̛̗͎̪̟̣̓̀̾̒̏̓͝o̴̧̡̘̯̮̙͔̓̓̈́͐̎͐͝',
  '4-byte emoji: 🦀🎉👩‍👩‍👧‍👦🏳️‍🌈',
  'W'.repeat(1500),
  '&lt;b&gt;entities stay text&lt;/b&gt; &amp;',
];

test('hostile strings render as inert text in a real Chromium', async () => {
  const { page, context, log } = await openPage('/overlay/hostile?lines=10&fade=60');
  const title = await page.title();
  for (const body of HOSTILE) {
    await post(relay, 'hostile', '<b onmouseover=alert(1)>mallory</b>', body);
    await waitForCaptions(page, (c) => c.some((l) => l.body === body));
  }
  const verdict = await page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    return {
      pwned: window.__pwned ?? null,
      injected: root.querySelectorAll('[part~="caption"] img:not([part~="caption-avatar"]), [part~="caption"] img[src], [part~="caption"] script, [part~="caption"] svg, [part~="caption"] style, [part~="caption"] b').length,
      senders: [...root.querySelectorAll('[part~="caption-sender"]')].map((e) => e.textContent),
      widths: [...root.querySelectorAll('[part~="caption"]')].map((e) => e.getBoundingClientRect().width),
      hostWidth: document.querySelector('chyron-chat').getBoundingClientRect().width,
    };
  });
  assert.equal(verdict.pwned, null, 'no injected script ran');
  assert.equal(verdict.injected, 0, 'no element was created from a body or a sender');
  assert.ok(verdict.senders.every((s) => s.includes('<b onmouseover=alert(1)>mallory</b>')));
  assert.ok(verdict.widths.every((w) => w <= verdict.hostWidth + 1), `a line overflows: ${verdict.widths} > ${verdict.hostWidth}`);
  assert.equal(await page.title(), title);
  assert.deepEqual(log.pageErrors, []);
  await page.screenshot({ path: join(OUT, 'hostile.png') });
  await context.close();
});

test('the toggle hides captions by keyboard and the choice is remembered per channel', async () => {
  const { page, context } = await openPage('/overlay/toggle-test?fade=60');
  await post(relay, 'toggle-test', 'Ada', 'can you see me');
  await waitForCaptions(page, (c) => c.length === 1);
  const toggle = page.locator('chyron-chat [part~="toggle"]');
  assert.equal(await toggle.textContent(), 'Hide captions');
  await toggle.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const box = root.querySelector('[part~="captions"]');
    return !box || box.getClientRects().length === 0 || getComputedStyle(box).visibility === 'hidden';
  });
  assert.equal(await toggle.textContent(), 'Show captions', 'the label says what pressing does next');
  await page.reload();
  await page.waitForFunction(() => document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="toggle"]'));
  const hiddenAfterReload = await page.evaluate(() => {
    const box = document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="captions"]');
    return !box || box.getClientRects().length === 0 || getComputedStyle(box).visibility === 'hidden';
  });
  assert.equal(hiddenAfterReload, true, 'hidden survives a reload');
  await page.locator('chyron-chat [part~="toggle"]').press('Space');
  await post(relay, 'toggle-test', 'Ada', 'back again');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'back again'));
  await context.close();
});

test('prefers-reduced-motion turns fades off; captions are announced politely', async () => {
  const { page, context } = await openPage('/overlay/motion?fade=60', { reducedMotion: 'reduce' });
  await post(relay, 'motion', 'Ada', 'calm please');
  await waitForCaptions(page, (c) => c.length === 1);
  const info = await page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const line = root.querySelector('[part~="caption"]');
    const live = root.querySelector('[aria-live="polite"]');
    return { animation: getComputedStyle(line).animationName, live: !!live };
  });
  assert.equal(info.animation, 'none');
  assert.equal(info.live, true, 'a polite live region exists');
  await page.waitForFunction(() =>
    document.querySelector('chyron-chat').shadowRoot.querySelector('[aria-live="polite"]').textContent.includes('calm please'),
  null, { timeout: 8000 });
  await context.close();
});

test('a restarted relay is resumed from: no line lost, none shown twice', async () => {
  const local = await startRelay();
  const port = new URL(local.url).port;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${local.url}/overlay/resume?lines=10&fade=120`);
  await post(local, 'resume', 'a', 'before restart');
  await waitForCaptions(page, (c) => c.length === 1);
  await local.stop();
  const again = await startRelay({ data: local.dataDir, listen: `127.0.0.1:${port}` });
  await post(again, 'resume', 'a', 'after restart 1');
  await post(again, 'resume', 'a', 'after restart 2');
  const shown = await waitForCaptions(page, (c) => c.some((l) => l.body === 'after restart 2'), { timeout: 20000 });
  assert.deepEqual(shown.map((l) => l.body), ['before restart', 'after restart 1', 'after restart 2']);
  await context.close();
  await again.stop();
  local.cleanup();
});

test('a Slack-style webhook post becomes a caption; metrics count the viewer', async () => {
  const { page, context } = await openPage('/overlay/hooked?fade=60');
  const hook = await api(relay, 'POST', '/api/v1/channels/hooked/webhooks', { name: 'ci-bot' });
  assert.equal(hook.status, 201);
  const res = await fetch(hook.body.url, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'build #42 passed' }),
  });
  assert.equal(res.status, 201);
  await waitForCaptions(page, (c) => c.some((l) => l.sender?.includes('ci-bot') && l.body === 'build #42 passed'));
  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  const viewers = Number(metrics.match(/^chyron_viewers (\d+)/m)?.[1]);
  assert.ok(viewers >= 1, `viewers gauge: ${viewers}`);
  const revoke = await api(relay, 'DELETE', `/api/v1/channels/hooked/webhooks/${hook.body.id}`);
  assert.equal(revoke.status, 204);
  const after = await fetch(hook.body.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' });
  assert.equal(after.status, 404, 'a revoked webhook posts nothing');
  await context.close();
});

test('the OBS overlay page is transparent', async () => {
  const { page, context } = await openPage('/overlay/obs');
  const bg = await page.evaluate(() => [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor]);
  assert.deepEqual(bg, ['rgba(0, 0, 0, 0)', 'rgba(0, 0, 0, 0)']);
  assert.equal((await api(relay, 'GET', '/overlay/..%2Fetc')).status, 400);
  await context.close();
});

test('the OBS overlay page runs embed.js inline: no embed.js request, module and wasm fetched once each', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = watchConsole(page);
  const fetched = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  const res = await page.goto(`${relay.url}/overlay/inline?fade=60`);
  assert.equal(res.headers()['content-encoding'], 'br', 'the page (with embed.js in it) is compressed');
  await post(relay, 'inline', 'Ada', 'inlined');
  await waitForCaptions(page, (c) => c.some((l) => l.body === 'inlined'));
  const count = (path) => fetched.filter((p) => p === path).length;
  assert.equal(count('/embed.js'), 0, fetched.join(' '));
  assert.equal(count('/chyron_bg.wasm'), 1, fetched.join(' '));
  assert.equal(count('/chyron.js'), 1, fetched.join(' '));
  assert.deepEqual([...log.errors, ...log.pageErrors, ...log.warnings.filter((l) => /preload/i.test(l))], []);
  await context.close();
});

test('captionTexts sees nothing before the widget mounts (guards the harness)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.setContent('<p>no widget</p>');
  assert.equal(await captionTexts(page), null);
  await context.close();
});
