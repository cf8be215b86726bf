// Shared by the chat's end-to-end tests: a real Synapse with bridged rooms, the
// real relay, a stream page on another origin, and helpers that read the chat
// panel's shadow DOM as a person sees it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ROOT, startRelay, launchBrowser, watchConsole, startHostSite } from './harness.mjs';
import { deflateSync } from 'node:zlib';
import { startSynapse, call, sleep } from './matrix.mjs';

export const OUT = join(ROOT, 'tests', 'e2e', 'out');
mkdirSync(OUT, { recursive: true });

/**
 * Synapse, `rooms` created by alice ({ channel, guests } beyond the seeded
 * #demo, bridged as `demo`), the relay with `config` (TOML lines), a browser
 * and a stream page embedding channel `demo`. Waits until the directory names
 * every bridged room. Returns { synapse, relay, browser, site, roomIds, stop,
 * restartRelay }.
 */
export async function startChatStack({ config = [], rooms = [] } = {}) {
  const synapse = await startSynapse();
  const alice = synapse.seeded.users.alice;
  const bot = synapse.seeded.users.bot;
  const roomIds = { demo: synapse.seeded.room_id };
  const bridges = [`demo=${synapse.seeded.room_alias}`];
  const server = synapse.seeded.server_name;
  for (const { channel, guests } of rooms) {
    const initial_state = guests
      ? [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } }]
      : [];
    const r = await call(synapse.base, 'POST', '/_matrix/client/v3/createRoom', {
      token: alice.access_token,
      body: { preset: 'public_chat', room_alias_name: channel, name: channel, initial_state },
    });
    if (r.status !== 200) throw new Error(`createRoom ${channel}: ${r.status} ${JSON.stringify(r.body)}`);
    roomIds[channel] = r.body.room_id;
    bridges.push(`${channel}=#${channel}:${server}`);
  }
  const file = join(tmpdir(), `chyron-chat-e2e-${process.pid}-${Date.now()}.toml`);
  writeFileSync(file, config.join('\n'));
  const relayArgs = ['--config', file];
  const relayEnv = {
    CHYRON_MATRIX_HOMESERVER: synapse.base,
    CHYRON_MATRIX_USER: bot.user_id,
    CHYRON_MATRIX_PASSWORD: bot.password,
    CHYRON_BRIDGE: bridges.join(','),
  };
  const everyRoom = (r) => (r?.channels?.filter((c) => c.matrix?.room_id).length ?? 0) >= bridges.length;
  const relay = await startRelay({ args: relayArgs, env: relayEnv });
  await waitForDirectory(relay.url, everyRoom, 'every room');
  const browser = await launchBrowser();
  const site = await startHostSite(new Map([['/stream', streamPage(relay.url)]]));
  const stack = { synapse, relay, browser, site, roomIds };
  /** Stops the relay (SIGTERM) and starts it again on the same address and data. */
  stack.restartRelay = async () => {
    const first = stack.relay;
    await first.stop();
    const again = await startRelay({ args: relayArgs, env: relayEnv, data: first.dataDir, listen: new URL(first.url).host });
    // The first run made the data directory: it removes it at the end.
    again.cleanup = first.cleanup;
    stack.relay = again;
    await waitForDirectory(again.url, everyRoom, 'every room after the restart');
  };
  stack.stop = async () => {
    await browser?.close();
    site?.close();
    await stack.relay?.stop();
    stack.relay?.cleanup();
    synapse?.stop();
  };
  return stack;
}

/** A stream page of another origin embedding channel `demo` from the relay at `relayUrl`. */
export function streamPage(relayUrl) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stream</title></head>
<body style="margin:0;background:#111">
<main><h1 style="color:#eee;font:16px sans-serif">A stream</h1>
<div id="player" style="position:relative;width:960px;height:540px;background:linear-gradient(#334,#112)"></div></main>
<script src="${relayUrl}/embed.js" data-channel="demo" data-target="#player" async></script>
</body></html>`;
}

/** Polls the relay's GET /chat/channels until `ready(directory)`; throws after 60 s naming `what`. */
export async function waitForDirectory(relayUrl, ready, what) {
  const deadline = Date.now() + 60000;
  for (;;) {
    const r = await fetch(`${relayUrl}/chat/channels`).then((x) => x.json()).catch(() => null);
    if (ready(r)) return r;
    if (Date.now() > deadline) throw new Error(`the directory never named ${what}: ${JSON.stringify(r)}`);
    await sleep(200);
  }
}

/** A viewer: a fresh browser context on the stream page. `init` runs first in the page. */
export async function viewer(stack, { init } = {}) {
  const context = await stack.browser.newContext({ viewport: { width: 1000, height: 640 } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(`${stack.site.url}/stream`);
  return { context, page, log };
}

export const part = (page, name) => page.locator(`chyron-chat [part~="${name}"]`);

/** The chat's lines: [{ sender, body, html, edited, pending }]. */
export async function chatLines(page) {
  return page.evaluate(() => {
    const root = document.querySelector('chyron-chat')?.shadowRoot;
    return [...(root?.querySelectorAll('[part~="chat-line"], [part~="chat-unread"]') ?? [])].map((li) =>
      li.matches('[part~="chat-unread"]')
        ? { divider: true }
        : {
          sender: li.querySelector('[part~="chat-sender"]')?.textContent,
          body: li.querySelector('[part~="chat-body"]')?.textContent,
          html: li.querySelector('[part~="chat-body"]')?.innerHTML,
          edited: !!li.querySelector('[part~="chat-edited"]'),
          pending: !!li.querySelector('[part~="chat-pending"]'),
        });
  });
}

export async function waitForLines(page, predicate, what, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await chatLines(page);
    if (predicate(last.filter((x) => !x.divider), last)) return last.filter((x) => !x.divider);
    await sleep(50);
  }
  throw new Error(`chat never showed ${what}; last: ${JSON.stringify(last)}`);
}

export async function openChat(page) {
  await part(page, 'chat-open').click({ timeout: 20000 });
  await part(page, 'chat').waitFor({ timeout: 20000 });
}

/** Joins as a guest named `name`; accepts the rules when asked. */
export async function joinAsGuest(page, name, { rules = true } = {}) {
  await part(page, 'chat-name').fill(name);
  await part(page, 'chat-join-button').click();
  if (rules) await part(page, 'chat-rules-accept').click({ timeout: 20000 });
  await part(page, 'chat-input').waitFor({ timeout: 20000 });
}

export async function say(page, text) {
  await part(page, 'chat-input').fill(text);
  await part(page, 'chat-input').press('Enter');
}

export const shot = (page, name) => page.screenshot({ path: join(OUT, `chat-${name}.png`) });

/** Sends a formatted message as `token` (a Matrix client other than ours). */
export async function sendHtml(base, token, roomId, body, html) {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/h${process.pid}-${Date.now()}-${Math.random()}`;
  const r = await call(base, 'PUT', path, {
    token, body: { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: html },
  });
  if (r.status !== 200) throw new Error(`send: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.event_id;
}

/** Whether the log's newest line is wholly in view (the reader is at the end). */
export async function newestInView(page) {
  return page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const log = root.querySelector('[part~="chat-log"]').getBoundingClientRect();
    const lines = root.querySelectorAll('[part~="chat-line"]');
    const last = lines[lines.length - 1]?.getBoundingClientRect();
    return !!last && last.bottom <= log.bottom + 1 && last.top >= log.top - 1;
  });
}

/** A viewer signed in with a password (an account: it gets a relay session). */
export async function signedIn(stack, user, password) {
  const v = await viewer(stack);
  await openChat(v.page);
  await v.page.locator('chyron-chat button', { hasText: 'Sign in' }).click();
  await v.page.locator('chyron-chat #chyron-user').fill(user);
  await v.page.locator('chyron-chat #chyron-password').fill(password);
  await v.page.locator('chyron-chat button[type="submit"]', { hasText: 'Sign in' }).click();
  await part(v.page, 'chat-input').waitFor({ timeout: 20000 });
  return v;
}

/** A `w`×`h` PNG of a colour gradient. */
export function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = [];
  for (let y = 0; y < h; y++) {
    rows.push(0);
    for (let x = 0; x < w; x++) rows.push(220, (x * 4) % 256, (y * 5) % 256);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/** Posts a 64×48 PNG to #demo as `user` (an m.image through `synapse`). */
export async function postImage(synapse, user) {
  const image = png(64, 48);
  const up = await fetch(`${synapse.base}/_matrix/media/v3/upload?filename=shot.png`, {
    method: 'POST', headers: { Authorization: `Bearer ${user.access_token}`, 'Content-Type': 'image/png' }, body: image,
  }).then((r) => r.json());
  if (!up.content_uri) throw new Error(`upload: ${JSON.stringify(up)}`);
  const r = await call(synapse.base, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(synapse.seeded.room_id)}/send/m.room.message/info${Date.now()}`, {
    token: user.access_token,
    body: { msgtype: 'm.image', body: 'shot.png', url: up.content_uri, info: { mimetype: 'image/png', w: 64, h: 48, size: image.length } },
  });
  if (r.status !== 200) throw new Error(`send image: ${r.status} ${JSON.stringify(r.body)}`);
}

