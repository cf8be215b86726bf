// A Matrix-bridged channel as a viewer sees it: the real widget (served by
// the real relay) against a scripted feed that sends what a bridged channel
// sends: attachments with thumbnails, senders' avatars, formatted bodies,
// display-name changes and the state of the link to Matrix. The scripted
// server also serves the thumbnails and avatars, as the relay does, from the
// same origin as the feed, and the
// stream pages (a real loopback server: Chromium's local network access
// checks refuse a loopback feed to a page that has no address).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { ROOT, startRelay, launchBrowser, watchConsole, waitForCaptions } from './harness.mjs';

const OUT = join(ROOT, 'tests', 'e2e', 'out');
mkdirSync(OUT, { recursive: true });

const DOWN = 'Chat link to Matrix interrupted — reconnecting; messages will catch up';

// A small landscape, like a photo's thumbnail.
const THUMBNAIL = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="#ff7e5f"/><stop offset="1" stop-color="#feb47b"/></linearGradient></defs>
  <rect width="160" height="120" fill="url(#sky)"/>
  <circle cx="112" cy="52" r="18" fill="#fff3b0"/>
  <path d="M0 90 L40 60 L70 82 L105 50 L160 92 L160 120 L0 120 Z" fill="#3b2f5c"/>
  <path d="M0 104 L50 86 L95 102 L160 88 L160 120 L0 120 Z" fill="#1f1a33"/>
</svg>`;

// A member's picture: a coloured disc with an initial.
const AVATAR = (colour, letter) => `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">
  <rect width="96" height="96" fill="${colour}"/>
  <text x="48" y="64" font-family="sans-serif" font-size="52" font-weight="700" fill="#fff" text-anchor="middle">${letter}</text>
</svg>`;
const AVATARS = { ada: AVATAR('#7b5cff', 'A'), grace: AVATAR('#1fa37a', 'G') };

let relay;
let browser;
let feed; // { url, requests, media, on: Map(channel → (ws, url, n) => void) }

before(async () => {
  relay = await startRelay();
  browser = await launchBrowser();
  const media = [];
  const server = createServer((req, res) => {
    media.push(req.url);
    const page = feed.pages.get(req.url);
    if (page) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (/^\/media\/[a-z-]+\/m\d+\/thumbnail$/.test(req.url) && !req.url.includes('/m5/')) {
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'access-control-allow-origin': '*' });
      res.end(THUMBNAIL);
    } else if (AVATARS[req.url.match(/^\/media\/[a-z-]+\/avatars\/([a-z]+)$/)?.[1]]) {
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'access-control-allow-origin': '*' });
      res.end(AVATARS[req.url.split('/').pop()]);
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ server });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  feed = { url: `http://127.0.0.1:${server.address().port}`, requests: [], media, on: new Map(), pages: new Map(), server, wss };
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url, feed.url);
    const channel = url.pathname.split('/').pop();
    feed.requests.push({ channel, since: url.searchParams.get('since') });
    const n = feed.requests.filter((r) => r.channel === channel).length;
    feed.on.get(channel)?.(ws, url, n);
  });
});

after(async () => {
  await browser?.close();
  for (const ws of feed?.wss.clients ?? []) ws.terminate();
  feed?.wss.close();
  feed?.server.close();
  await relay?.stop();
  relay?.cleanup();
});

const send = (ws, frame) => ws.send(JSON.stringify(frame));
const message = (id, senderId, sender, body, extra = {}) => ({
  id, sender, sender_id: senderId, body, ts: Date.now(), source: 'matrix', ...extra,
});
const snapshot = (channel, seq, messages = []) => ({ type: 'snapshot', channel, epoch: 'e1', seq, reason: 'initial', messages });

/** A stream page with the widget over a playing video. */
async function open(channel) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
  const page = await context.newPage();
  const log = watchConsole(page);
  feed.pages.set(`/stream/${channel}`, `<!doctype html>
      <style>body { margin: 0; background: #0d0f14; } #player { position: relative; width: 960px; height: 540px; margin: 30px 20px; background: #223; }
        video { width: 100%; height: 100%; object-fit: cover; display: block; }</style>
      <div id="player"><video src="${relay.url}/media/demo.webm" autoplay muted loop playsinline></video>
        <chyron-chat server="${feed.url}" channel="${channel}" lines="5" fade="120"></chyron-chat></div>
      <script src="${relay.url}/embed.js" async></script>`);
  await page.goto(`${feed.url}/stream/${channel}`);
  await page.waitForFunction(() => document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
  return { page, context, log };
}

/** What the widget's shadow root shows besides caption text. */
function inspect(page) {
  return page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const status = root.querySelector('[part~="status"]');
    return {
      lines: [...root.querySelectorAll('[part~="caption"]')].map((line) => {
        const img = line.querySelector('img[part~="caption-media"]');
        const box = img?.getBoundingClientRect();
        const face = line.querySelector('img[part~="caption-avatar"]');
        const faceBox = face?.getBoundingClientRect();
        return {
          kind: line.querySelector('[part~="caption-media-kind"]')?.textContent ?? null,
          body: line.querySelector('[part~="caption-body"]').textContent,
          img: img && {
            src: img.getAttribute('src'), alt: img.alt, loaded: img.complete && img.naturalWidth > 0,
            shown: !!box && box.height > 0, height: box.height,
          },
          avatar: face && {
            src: face.getAttribute('src'), loaded: face.complete && face.naturalWidth > 0,
            shown: faceBox.height > 0, width: faceBox.width, height: faceBox.height,
            first: line.firstElementChild === face,
          },
          lineHeight: parseFloat(getComputedStyle(line).lineHeight),
        };
      }),
      status: status ? { text: status.textContent, shown: status.getBoundingClientRect().height > 0 } : null,
      live: root.querySelector('[aria-live="polite"]').textContent,
      markup: root.querySelectorAll('[part~="caption"] b, [part~="caption"] i, [part~="caption"] script').length,
    };
  });
}

async function until(page, predicate, what) {
  const deadline = Date.now() + 10000;
  let last;
  while (Date.now() < deadline) {
    last = await inspect(page);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} never happened; last seen: ${JSON.stringify(last)}`);
}

test('a moderator\'s mark hides a thumbnail from the captions at once, and "safe" brings it back; an unreviewed one never shows', async () => {
  const image = { kind: 'image', name: 'party.png', mimetype: 'image/png', width: 1600, height: 1200 };
  let socket;
  feed.on.set('marks', (ws) => {
    socket = ws;
    send(ws, snapshot('marks', 1, [message('m1', '@ada:hs', 'Ada', 'party.png', {
      media: { ...image, thumbnail: '/media/marks/m1/thumbnail' } })]));
    send(ws, { type: 'message', seq: 2, message: message('m2', '@bob:hs', 'Bob', 'mystery.png', {
      media: { ...image, name: 'mystery.png', thumbnail: '/media/marks/m2/thumbnail', mark: 'unreviewed' } }) });
  });
  const { page, context, log } = await open('marks');
  await waitForCaptions(page, (c) => c.length === 2);
  let seen = await until(page, (s) => s.lines[0].img?.loaded, 'the first thumbnail loading');
  assert.deepEqual(seen.lines.map((l) => l.kind), ['Image', 'Image'], 'both lines still say what they are');
  assert.equal(seen.lines[1].img, null, 'an unreviewed attachment shows no thumbnail');
  send(socket, { type: 'mark', seq: 3, id: 'm1', mark: 'nsfw' });
  seen = await until(page, (s) => s.lines[0].img === null, 'the marked thumbnail going');
  assert.equal(seen.lines[0].body, 'party.png');
  assert.equal(seen.lines[0].kind, 'Image');
  await page.screenshot({ path: join(OUT, 'media-marked-nsfw.png'), clip: { x: 0, y: 0, width: 1000, height: 600 } });
  assert.ok(!feed.media.includes('/media/marks/m2/thumbnail'), 'a hidden thumbnail is never even fetched');
  send(socket, { type: 'mark', seq: 4, id: 'm2', mark: 'safe' });
  seen = await until(page, (s) => s.lines[1].img?.loaded, 'the thumbnail marked safe showing');
  assert.equal(seen.lines[0].img, null, 'the other stays hidden');
  assert.deepEqual(seen.lines.map((l) => l.body), ['party.png', 'mystery.png'], 'lines keep their order');
  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

test('an attachment shows its kind and a thumbnail from the relay; foreign or broken thumbnails and HTML are not shown', async () => {
  const image = { kind: 'image', name: 'sunset.png', mimetype: 'image/png', size: 48213, width: 1600, height: 1200 };
  feed.on.set('media', (ws) => {
    const ada = { avatar: '/media/media/avatars/ada' };
    send(ws, snapshot('media', 1, [message('m1', '@ada:hs', 'Ada', 'look what I found', ada)]));
    send(ws, { type: 'bridge', state: 'live' });
    send(ws, { type: 'message', seq: 2, message: message('m2', '@ada:hs', 'Ada', 'sunset from the venue roof', {
      ...ada, html: '<b>sunset</b> from the venue roof', media: { ...image, thumbnail: '/media/media/m2/thumbnail' } }) });
    send(ws, { type: 'message', seq: 3, message: message('m3', '@grace:hs', 'Grace', 'slides.pdf', {
      avatar: '/media/media/avatars/grace',
      media: { kind: 'file', name: 'slides.pdf', mimetype: 'application/pdf', size: 1048576 } }) });
    send(ws, { type: 'message', seq: 4, message: message('m4', '@mallory:hs', 'Mallory', 'free.png', {
      avatar: `${relay.url}/media/media/avatars/ada`,
      media: { ...image, name: 'free.png', thumbnail: `${relay.url}/media/media/m4/thumbnail` } }) });
    send(ws, { type: 'message', seq: 5, message: message('m5', '@bob:hs', 'Bob', 'lost.png', {
      media: { ...image, name: 'lost.png', thumbnail: '/media/media/m5/thumbnail' } }) });
  });
  const { page, context, log } = await open('media');
  await waitForCaptions(page, (c) => c.length === 5);
  const seen = await until(page, (s) => s.lines[1].img?.loaded && s.lines[4].img && !s.lines[4].img.shown
    && s.lines[0].avatar?.loaded && s.lines[2].avatar?.loaded, 'the thumbnails and avatars loading');
  assert.deepEqual(seen.lines.map((l) => l.kind), [null, 'Image', 'File', 'Image', 'Image']);
  assert.deepEqual(seen.lines.map((l) => l.body),
    ['look what I found', 'sunset from the venue roof', 'slides.pdf', 'free.png', 'lost.png']);
  const thumb = seen.lines[1].img;
  assert.equal(thumb.src, `${feed.url}/media/media/m2/thumbnail`);
  assert.equal(thumb.alt, 'sunset.png');
  assert.ok(thumb.shown);
  const lh = seen.lines[1].lineHeight;
  assert.ok(thumb.height >= lh && thumb.height <= 2 * lh, `thumbnail ${thumb.height}px, line ${lh}px`);
  assert.equal(seen.lines[2].img, null, 'no thumbnail, no image');
  assert.equal(seen.lines[3].img, null, 'a thumbnail from elsewhere is ignored');
  assert.equal(seen.lines[4].img.shown, false, 'a thumbnail that fails hides itself');
  assert.equal(seen.markup, 0, 'html is never rendered');
  // Avatars: first on their line, square, no taller than the text; one from
  // elsewhere is ignored; senders without one show none.
  for (const i of [0, 1, 2]) {
    const a = seen.lines[i].avatar;
    assert.ok(a.loaded && a.first, `line ${i}: ${JSON.stringify(a)}`);
    assert.ok(a.width === a.height && a.height > 0 && a.height <= seen.lines[i].lineHeight, JSON.stringify(a));
  }
  assert.equal(seen.lines[2].avatar.src, `${feed.url}/media/media/avatars/grace`);
  assert.equal(seen.lines[3].avatar.src, null, 'an avatar from elsewhere is ignored');
  assert.equal(seen.lines[4].avatar.src, null, 'no avatar, no image');
  assert.ok(!seen.lines[3].avatar.shown && !seen.lines[4].avatar.shown);
  assert.deepEqual([...new Set(feed.media.filter((u) => u.startsWith('/media/media/')))].sort(),
    ['/media/media/avatars/ada', '/media/media/avatars/grace', '/media/media/m2/thumbnail', '/media/media/m5/thumbnail']);
  assert.equal(seen.status.shown, false, 'a live link shows no status line');
  await page.waitForTimeout(300); // a video frame behind the captions
  await page.screenshot({ path: join(OUT, 'media-caption.png'), clip: { x: 0, y: 0, width: 1000, height: 600 } });
  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

test('a profile change renames the shown lines of that sender and gives them its avatar, and a resume starts after it', async () => {
  feed.on.set('rename', (ws, url, n) => {
    if (n === 1) {
      // An avatar the relay cannot serve: hidden until a profile brings one.
      send(ws, snapshot('rename', 1, [message('a1', '@ada:hs', 'ada', 'first', { avatar: '/media/rename/avatars/gone' })]));
      send(ws, { type: 'message', seq: 2, message: message('b1', '@bob:hs', 'Bob', 'hello ada') });
      send(ws, { type: 'message', seq: 3, message: message('a2', '@ada:hs', 'ada', 'second') });
      send(ws, { type: 'profile', seq: 4, sender_id: '@ada:hs', sender: 'Ada Lovelace', avatar: '/media/rename/avatars/ada' });
      send(ws, { type: 'bridge', state: 'live' }); // no seq: the cursor stays at 4
      setTimeout(() => ws.close(), 300);
    } else {
      send(ws, { type: 'message', seq: 5, message: message('a3', '@ada:hs', 'Ada Lovelace', 'third', { avatar: '/media/rename/avatars/ada' }) });
    }
  });
  const { page, context, log } = await open('rename');
  const shown = await waitForCaptions(page, (c) => c.some((l) => l.body === 'third'), { timeout: 15000 });
  assert.deepEqual(shown.map((l) => [l.sender, l.body]), [
    ['Ada Lovelace', 'first'], ['Bob', 'hello ada'], ['Ada Lovelace', 'second'], ['Ada Lovelace', 'third'],
  ]);
  const resumes = feed.requests.filter((r) => r.channel === 'rename').map((r) => r.since);
  assert.deepEqual(resumes.slice(0, 2), [null, '4']);
  const faces = (await until(page, (s) => s.lines.length === 4 && s.lines[0].avatar.loaded, 'avatars loading')).lines;
  const ada = `${feed.url}/media/rename/avatars/ada`;
  assert.deepEqual(faces.map((l) => l.avatar.src), [ada, null, ada, ada]);
  assert.deepEqual(faces.map((l) => l.avatar.shown), [true, false, true, true], 'a new avatar shows where a broken one was');
  assert.deepEqual(log.pageErrors, []);
  await context.close();
});

test('while the link to Matrix is down a quiet status line says so, announced once; it goes when the link is back', async () => {
  let socket;
  feed.on.set('status', (ws) => {
    socket = ws;
    send(ws, snapshot('status', 2, [
      message('s1', '@ada:hs', 'Ada', 'is the stream lagging for anyone?'),
      message('s2', '@grace:hs', 'Grace', 'looks fine here'),
    ]));
    send(ws, { type: 'bridge', state: 'connecting' });
  });
  const { page, context } = await open('status');
  await waitForCaptions(page, (c) => c.length === 2);
  let seen = await inspect(page);
  assert.equal(seen.status.shown, false, 'connecting stays quiet');

  send(socket, { type: 'bridge', state: 'down' });
  seen = await until(page, (s) => s.status.shown, 'the status line');
  assert.equal(seen.status.text, DOWN);
  seen = await until(page, (s) => s.live.includes(DOWN), 'the announcement');
  // Repeats (each reconnect resends the state) are neither shown twice nor re-announced.
  send(socket, { type: 'bridge', state: 'down' });
  send(socket, { type: 'bridge', state: 'connecting' });
  send(socket, { type: 'message', seq: 3, message: { ...message('s3', '@api', 'Host', 'break in five minutes'), source: 'api' } });
  await waitForCaptions(page, (c) => c.length === 3);
  seen = await inspect(page);
  assert.equal(seen.status.text, DOWN);
  const box = await page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const rect = (el) => el.getBoundingClientRect();
    return { status: rect(root.querySelector('[part~="status"]')), captions: rect(root.querySelector('[part~="captions"]')) };
  });
  assert.ok(box.status.top >= box.captions.bottom, 'the status line sits under the captions');
  assert.ok(box.status.height < 40, `status line ${box.status.height}px high`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, 'bridge-down.png'), clip: { x: 0, y: 0, width: 1000, height: 600 } });

  send(socket, { type: 'bridge', state: 'live' });
  seen = await until(page, (s) => !s.status.shown, 'the status line going');
  assert.equal(seen.status.text, '');
  await until(page, (s) => s.live.startsWith('Chat link to Matrix restored'), 'the all-clear');
  assert.equal((await waitForCaptions(page, (c) => c.length === 3)).length, 3, 'captions were never touched');
  await context.close();
});
