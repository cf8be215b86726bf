// Full-chat benchmark: what the chat module (chat/, matrix-sdk in the browser)
// costs a viewer, and what 200 chatters cost Synapse when they read through
// the relay's feed instead of each long-polling /sync. Run by
// `scripts/bench.sh chat` (and by `scripts/bench.sh`). Not a test: it asserts
// nothing, it measures, then writes bench/out/chat.json.
//
// 1. Module size: dist/chat/chyron-chat_bg.wasm and chyron-chat.js, raw and
//    brotli (the build's .br next to them when it is current, else node's
//    zlib brotli at quality 11), beside the overlay's download before the
//    first caption (chyron_bg.wasm + chyron.js + embed.js, brotli).
// 2. Open → panel, Join → composer: CHAT_JOINS fresh browser contexts (a
//    fresh context has an empty HTTP cache: cold) on a stream page of another
//    origin embedding channel demo (the stack of chat-harness.mjs: Synapse,
//    the relay bridging #demo, no rules). open_ms: click on "Chat" → the
//    panel shown with lines; join_ms: click on Join (name filled in) → the
//    composer shown. Then the same page reloaded with its storage cleared
//    (HTTP cache warm, no session) and measured again: warm.
// 3. Post → confirmed: in one joined page, CHAT_POSTS posts one every
//    CHAT_POST_INTERVAL_MS ms, typed and sent with Enter; Enter → the line in
//    the log without a "Sending…" marker (the relay's feed brought it back).
//    Timed inside the page (a keydown listener and a MutationObserver, both
//    performance.now()). A post shown in two rows at once counts as shown
//    twice; two confirmed rows as a duplicate.
// 4. Synapse CPU: CHAT_CHATTERS Matrix guests (register kind=guest, set a
//    display name, join #demo; 10 at a time) post CHAT_RATE msg/s in total,
//    round-robin, for CHAT_SECONDS s (PUT …/send). Run relay-feed: each guest
//    reads through a websocket on the relay's feed, as the chat module does
//    (no /sync). Run direct-sync: the same guests each long-poll /sync
//    instead. CPU of Synapse and the relay (user + system, /proc/PID/stat) over
//    first send → end of the run, % of one core; latency from the start of the
//    send call to the frame / the /sync response at every receiver.
//
// Knobs (environment): CHAT_JOINS (10), CHAT_POSTS (100),
// CHAT_POST_INTERVAL_MS (250), CHAT_CHATTERS (200), CHAT_SECONDS (60),
// CHAT_RATE (2), CHAT_SETUP_SECONDS (300), CHAT_DRAIN_SECONDS (30).
// The relay is started with its per-address limits lifted (every client here
// is 127.0.0.1). Everything started here is stopped by PID on every way out
// (Synapse through stop.sh and its pid file); the whole run is bounded.
import { mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants as zc } from 'node:zlib';
import WebSocket from 'ws';
import { ROOT, DIST, startRelay, launchBrowser, watchConsole, startHostSite } from './harness.mjs';
import {
  now, sleep, startSynapse, sendText, syncLoop, cpuSeconds, pct, round, waitExited, call, ok200,
} from './matrix.mjs';
import { part } from './chat-harness.mjs';

const env = (k, d) => Number(process.env[k] ?? d);
const JOINS = env('CHAT_JOINS', 10);
const POSTS = env('CHAT_POSTS', 100);
const POST_EVERY_MS = env('CHAT_POST_INTERVAL_MS', 250);
const CHATTERS = env('CHAT_CHATTERS', 200);
const SECONDS = env('CHAT_SECONDS', 60);
const RATE = env('CHAT_RATE', 2);
const SETUP_S = env('CHAT_SETUP_SECONDS', 300);
const DRAIN_S = env('CHAT_DRAIN_SECONDS', 30);
const OUT = join(ROOT, 'bench', 'out');
const UI_TIMEOUT = 60000;

const log = (...a) => console.error('[chat]', ...a);

// Everything this script started, stopped on every way out.
const cleanups = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const f of cleanups.reverse()) { try { f(); } catch (e) { log(`cleanup: ${e.message}`); } }
  // Last resort for what cannot be stopped synchronously (Chromium when the
  // run is cut short): this process's own children, by PID.
  for (const pid of childPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
process.on('exit', cleanup);
// A hard bound on the whole benchmark, whatever happens.
const budget = 600 + JOINS * 60 + (POSTS * POST_EVERY_MS) / 1000 + DRAIN_S
  + 2 * SETUP_S + 2 * (SECONDS + DRAIN_S + 10);
setTimeout(() => { log(`gave up after ${Math.round(budget)} s`); process.exit(1); }, budget * 1000).unref();

/** PIDs of this process's direct children (from /proc). */
function childPids() {
  const out = [];
  let entries = [];
  try { entries = readdirSync('/proc'); } catch { return out; }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) out.push(Number(e));
    } catch { /* gone */ }
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (xs) => ({ p50_ms: round(pct(xs, 0.5)), p99_ms: round(pct(xs, 0.99)), max_ms: round(pct(xs, 1)) });

/** CPU counters of the processes that matter, to difference over a window. */
function cpuMark(pids) {
  const u = process.cpuUsage();
  return { at: now(), loadgen: (u.user + u.system) / 1e6, ...Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)])) };
}
function cpuSince(mark, pids) {
  const later = cpuMark(pids);
  const secs = (later.at - mark.at) / 1000;
  const out = { window_s: round(secs, 1) };
  for (const k of ['loadgen', ...Object.keys(pids)]) out[`${k}_pct`] = round(((later[k] - mark[k]) / secs) * 100, 1);
  return out;
}

/** Waits until `ready()` or `deadline` (ms since epoch); true if ready. */
async function until(ready, deadline, step = 100) {
  while (!(await ready())) {
    if (now() > deadline) return false;
    await sleep(step);
  }
  return true;
}

// ---------------------------------------------------------------------------
// 1. Sizes.

/** Raw and brotli bytes of a dist file; the build's .br when it is current. */
function sizes(rel) {
  const path = join(DIST, rel);
  const raw = readFileSync(path);
  const br = `${path}.br`;
  let brotli;
  let source;
  // brotli(1) gives the copy its input's mtime, in whole seconds.
  const current = existsSync(br) && statSync(br).size > 0
    && Math.floor(statSync(br).mtimeMs / 1000) >= Math.floor(statSync(path).mtimeMs / 1000);
  if (current) {
    brotli = statSync(br).size;
    source = 'build .br';
  } else {
    brotli = brotliCompressSync(raw, {
      params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }).length;
    source = 'zlib q11';
  }
  return { path: `dist/${rel}`, raw_bytes: raw.length, brotli_bytes: brotli, brotli_from: source };
}

function moduleSizes() {
  const chat = ['chat/chyron-chat_bg.wasm', 'chat/chyron-chat.js'].map(sizes);
  const overlay = ['chyron_bg.wasm', 'chyron.js', 'embed.js'].map(sizes);
  const sum = (xs, k) => xs.reduce((s, x) => s + x[k], 0);
  return {
    chat: { files: chat, raw_bytes: sum(chat, 'raw_bytes'), brotli_bytes: sum(chat, 'brotli_bytes'), goal_brotli_kb: 900 },
    overlay: { files: overlay, raw_bytes: sum(overlay, 'raw_bytes'), brotli_bytes: sum(overlay, 'brotli_bytes'), goal_brotli_kb: 60 },
  };
}

// ---------------------------------------------------------------------------
// The stack: what chat-harness.mjs's startChatStack builds (Synapse, the relay
// bridging #demo, Chromium, a stream page on another origin), but each part
// registered for clean-up as soon as it runs, so a failure half-way or the
// time bound leaves nothing behind.

const CONFIG = [
  // Every client of this benchmark is 127.0.0.1: per-address limits lifted.
  'max_connections_per_ip = 100000',
  'anonymous_rate_limit_per_second = 100000',
  'anonymous_rate_limit_burst = 100000',
  'public_channels = ["demo"]',
  '[channels.demo]',
  'title = "Main stage"',
];

async function startStack() {
  const synapse = await startSynapse();
  cleanups.push(() => synapse.stop());
  const bot = synapse.seeded.users.bot;
  const file = join(tmpdir(), `chyron-bench-chat-${process.pid}-${Date.now()}.toml`);
  writeFileSync(file, CONFIG.join('\n'));
  cleanups.push(() => rmSync(file, { force: true }));
  const relay = await startRelay({
    args: ['--config', file],
    env: {
      CHYRON_MATRIX_HOMESERVER: synapse.base,
      CHYRON_MATRIX_USER: bot.user_id,
      CHYRON_MATRIX_PASSWORD: bot.password,
      CHYRON_BRIDGE: `demo=${synapse.seeded.room_alias}`,
    },
  });
  // stop() signals only a live child; its data directory goes once it is gone.
  cleanups.push(() => { relay.stop('SIGKILL'); waitExited(relay.pid); relay.cleanup(); });
  const deadline = now() + 60000;
  for (;;) {
    const r = await fetch(`${relay.url}/chat/channels`).then((x) => x.json()).catch(() => null);
    if (r?.channels?.some((c) => c.channel === 'demo' && c.matrix?.room_id)) break;
    if (now() > deadline) throw new Error(`the directory never named #demo: ${JSON.stringify(r)}`);
    await sleep(200);
  }
  const browser = await launchBrowser();
  cleanups.push(() => { browser.close().catch(() => {}); });
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stream</title></head>
<body style="margin:0;background:#111">
<main><h1 style="color:#eee;font:16px sans-serif">A stream</h1>
<div id="player" style="position:relative;width:960px;height:540px;background:linear-gradient(#334,#112)"></div></main>
<script src="${relay.url}/embed.js" data-channel="demo" data-target="#player" async></script>
</body></html>`;
  const site = await startHostSite(new Map([['/stream', html]]));
  cleanups.push(() => site.close());
  return { synapse, relay, browser, site };
}

/** Connects a websocket to the relay's feed; onMessage(body, at) per message frame. */
function feedSocket(relayUrl, onMessage) {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`${relayUrl.replace(/^http/, 'ws')}/feed/demo?limit=100`, { perMessageDeflate: false });
    ws.once('message', () => ok(ws)); // the snapshot
    ws.once('error', fail);
    ws.on('error', () => {}); // after the snapshot: the run counts what arrived
    ws.on('message', (data) => {
      const at = now();
      const text = data.toString();
      if (text.startsWith('{"type":"message"')) onMessage(JSON.parse(text).message?.body, at);
    });
  });
}

// ---------------------------------------------------------------------------
// 2. Open and join, timed in the page.

/**
 * Page-side helpers (an init script): `__bench.arm(name)` starts watching the
 * chyron-chat shadow root for a condition ("open": the panel shown with
 * lines; "composer": the input shown) and remembers the time of the next
 * click on the part that leads there; `__bench.done(name)` resolves to
 * [clickAt, readyAt] (performance.now()).
 */
function benchInit() {
  const shown = (el) => !!el && el.isConnected && el.getClientRects().length > 0
    && (el.checkVisibility ? el.checkVisibility({ checkVisibilityCSS: true }) : true);
  const root = () => document.querySelector('chyron-chat')?.shadowRoot;
  const conds = {
    open: (r) => shown(r.querySelector('[part~="chat"]')) && !!r.querySelector('[part~="chat"] [part~="chat-line"]'),
    composer: (r) => shown(r.querySelector('[part~="chat-input"]')),
  };
  const clicks = { open: '[part~="chat-open"]', composer: '[part~="chat-join-button"]' };
  const state = {};
  window.addEventListener('click', (e) => {
    const t = performance.now();
    const el = e.composedPath()[0];
    for (const [name, sel] of Object.entries(clicks)) {
      if (state[name] && state[name].clickAt === null && el?.closest?.(sel)) state[name].clickAt = t;
    }
  }, true);
  window.__bench = {
    arm(name) {
      const r = root();
      const s = { clickAt: null, readyAt: null };
      state[name] = s;
      s.promise = new Promise((resolve) => {
        const check = () => {
          if (s.readyAt !== null || s.clickAt === null) return;
          if (conds[name](r)) {
            s.readyAt = performance.now();
            mo.disconnect();
            clearInterval(iv);
            resolve([s.clickAt, s.readyAt]);
          }
        };
        const mo = new MutationObserver(check);
        mo.observe(r, { childList: true, subtree: true, attributes: true, characterData: true });
        const iv = setInterval(check, 10);
      });
    },
    done: (name) => state[name].promise,
  };
}

/** Clicks `clickPart` and resolves to the in-page ms until condition `name`. */
async function timed(page, name, clickPart) {
  await page.evaluate((n) => window.__bench.arm(n), name);
  await part(page, clickPart).click({ timeout: UI_TIMEOUT });
  const [clickAt, readyAt] = await Promise.race([
    page.evaluate((n) => window.__bench.done(n), name),
    sleep(UI_TIMEOUT).then(() => { throw new Error(`${name}: not ready within ${UI_TIMEOUT / 1000} s`); }),
  ]);
  return round(readyAt - clickAt, 1);
}

/** Loads the stream page, opens the chat and joins as a guest: { open_ms, join_ms }. */
async function openAndJoin(page, name) {
  await part(page, 'chat-open').waitFor({ timeout: UI_TIMEOUT });
  const open_ms = await timed(page, 'open', 'chat-open');
  await part(page, 'chat-name').fill(name);
  const join_ms = await timed(page, 'composer', 'chat-join-button');
  return { open_ms, join_ms };
}

async function joinRuns(stack, report) {
  const runs = [];
  let kept = null;
  for (let i = 0; i < JOINS; i++) {
    const context = await stack.browser.newContext({ viewport: { width: 1000, height: 640 } });
    await context.addInitScript(benchInit);
    const page = await context.newPage();
    const consoleLog = watchConsole(page);
    const refused = [];
    page.on('response', (r) => { if (r.status() >= 400) refused.push(`${r.status()} ${r.url()}`); });
    const run = {};
    try {
      await page.goto(`${stack.site.url}/stream`);
      run.cold = await openAndJoin(page, `Bench ${i}`);
      // Warm: same context (its HTTP cache), storage cleared (no session, captions).
      await page.evaluate(() => localStorage.clear());
      await page.reload();
      run.warm = await openAndJoin(page, `Bench ${i} again`);
    } catch (e) {
      run.error = e.message.split('\n')[0];
    }
    run.page_errors = consoleLog.pageErrors.length;
    run.console_errors = consoleLog.errors.length;
    if (consoleLog.errors.length || consoleLog.pageErrors.length) {
      run.errors_seen = [...consoleLog.pageErrors, ...consoleLog.errors].slice(0, 3).map((t) => t.slice(0, 200));
    }
    if (refused.length) run.http_errors = refused.slice(0, 5);
    runs.push(run);
    log(`join ${i + 1}/${JOINS}: ${JSON.stringify(run)}`);
    // The last page that joined stays for the posts.
    if (run.warm) {
      await kept?.context.close();
      kept = { context, page, log: consoleLog };
    } else await context.close();
  }
  const pick = (k, f) => runs.map((r) => r[k]?.[f]).filter((x) => typeof x === 'number');
  const sum = (k) => {
    const open = pick(k, 'open_ms');
    const joined = pick(k, 'join_ms');
    return {
      samples: joined.length,
      open_median_ms: round(median(open), 1), open_max_ms: round(Math.max(...open), 1),
      join_median_ms: round(median(joined), 1), join_max_ms: round(Math.max(...joined), 1),
    };
  };
  report.open_join = {
    runs: JOINS, failed: runs.filter((r) => r.error).length,
    cold: sum('cold'), warm: sum('warm'), goal_join_median_ms: 1500, each: runs,
  };
  return kept;
}

// ---------------------------------------------------------------------------
// 3. Posts, timed in the page.

function installPostRecorder(page) {
  return page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const P = {
      enter: new Map(), confirmed: new Map(), maxConfirmed: new Map(), maxShown: new Map(), failed: new Set(),
      twiceSince: new Map(), twiceMs: new Map(),
    };
    window.__posts = P;
    window.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const el = e.composedPath()[0];
      if (el?.matches?.('[part~="chat-input"]') && !P.enter.has(el.value)) P.enter.set(el.value, performance.now());
    }, true);
    const scan = () => {
      const t = performance.now();
      const confirmed = new Map();
      const shown = new Map();
      for (const li of root.querySelectorAll('[part~="chat-line"]')) {
        const body = li.querySelector('[part~="chat-body"]')?.textContent;
        if (!P.enter.has(body)) continue;
        shown.set(body, (shown.get(body) ?? 0) + 1);
        if (li.querySelector('[part~="chat-failed"]')) P.failed.add(body);
        if (li.querySelector('[part~="chat-pending"], [part~="chat-failed"]')) continue;
        confirmed.set(body, (confirmed.get(body) ?? 0) + 1);
        if (!P.confirmed.has(body)) P.confirmed.set(body, t);
      }
      for (const [b, n] of confirmed) if (n > (P.maxConfirmed.get(b) ?? 0)) P.maxConfirmed.set(b, n);
      for (const [b, n] of shown) if (n > (P.maxShown.get(b) ?? 0)) P.maxShown.set(b, n);
      // How long a post stays in two rows (e.g. "Sending…" beside its line).
      for (const [b, n] of shown) if (n > 1 && !P.twiceSince.has(b)) P.twiceSince.set(b, t);
      for (const [b, since] of P.twiceSince) {
        if ((shown.get(b) ?? 0) > 1) continue;
        P.twiceMs.set(b, (P.twiceMs.get(b) ?? 0) + t - since);
        P.twiceSince.delete(b);
      }
    };
    new MutationObserver(scan).observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
    window.__postsResult = () => {
      scan();
      return [...P.enter].map(([body, enter]) => ({
        body, enter,
        confirmed: P.confirmed.get(body) ?? null,
        max_confirmed_rows: P.maxConfirmed.get(body) ?? 0,
        max_rows: P.maxShown.get(body) ?? 0,
        twice_ms: (P.twiceMs.get(body) ?? 0) + (P.twiceSince.has(body) ? performance.now() - P.twiceSince.get(body) : 0),
        failed: P.failed.has(body),
      }));
    };
    window.__postsConfirmed = () => { scan(); return P.confirmed.size; };
  });
}

async function postRun(joined, report) {
  const { page } = joined;
  await installPostRecorder(page);
  const input = part(page, 'chat-input');
  const tag = Math.random().toString(36).slice(2, 7);
  const start = now();
  let late = 0;
  for (let i = 0; i < POSTS; i++) {
    const wait = start + i * POST_EVERY_MS - now();
    if (wait > 0) await sleep(wait); else if (i) late++;
    await input.fill(`bench post ${tag} ${i}`);
    await input.press('Enter');
  }
  const typed = await page.evaluate(() => window.__posts.enter.size);
  await until(() => page.evaluate(() => window.__postsConfirmed()).then((n) => n >= typed), now() + DRAIN_S * 1000, 200);
  await sleep(1000); // a second row, if one comes, comes now
  const rows = await page.evaluate(() => window.__postsResult());
  const lat = rows.filter((r) => r.confirmed !== null).map((r) => r.confirmed - r.enter);
  report.posts = {
    posts: POSTS, interval_ms: POST_EVERY_MS, typed, sent_late: late,
    delivered: lat.length, lost: POSTS - lat.length,
    duplicates: rows.filter((r) => r.max_confirmed_rows > 1).length,
    shown_twice: rows.filter((r) => r.max_rows > 1).length,
    shown_twice_ms: rows.filter((r) => r.max_rows > 1).map((r) => round(r.twice_ms, 1)),
    failed: rows.filter((r) => r.failed).length,
    ...ms(lat),
    page_errors: joined.log.pageErrors.length, console_errors: joined.log.errors.length,
  };
  log(`posts: ${JSON.stringify(report.posts)}`);
}

// ---------------------------------------------------------------------------
// 4. Many chatters: Synapse's CPU through the relay vs serving them itself.

/** A Matrix guest with a display name, joined to the room. */
async function chatter(base, roomId, i) {
  const g = await ok200(base, 'POST', '/_matrix/client/v3/register?kind=guest', { body: {} });
  await ok200(base, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(g.user_id)}/displayname`,
    { token: g.access_token, body: { displayname: `Chatter ${i}` } });
  await ok200(base, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: g.access_token, body: {} });
  return { userId: g.user_id, token: g.access_token };
}

/** Posts CHAT_RATE msg/s for CHAT_SECONDS s, round-robin over `guests` (open loop). */
async function postAll(base, roomId, guests, label, sent) {
  const count = Math.max(1, Math.round(SECONDS * RATE));
  const took = [];
  const calls = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / RATE - now();
    if (wait > 0) await sleep(wait);
    const body = `${label} ${i}`;
    const t = now();
    sent.set(body, t);
    calls.push(sendText(base, guests[i % guests.length].token, roomId, body)
      .then((status) => { took.push(now() - t); return status === 200; }, () => false));
  }
  const done = Promise.all(calls).then((oks) => ({
    messages: count, sent_ok: oks.filter(Boolean).length,
    send_call_p50_ms: round(pct(took, 0.5)), send_call_p99_ms: round(pct(took, 0.99)),
  }));
  return { start, count, done };
}

async function chattersRun(stack, report) {
  const { synapse, relay } = stack;
  const { base } = synapse;
  const roomId = synapse.seeded.room_id;
  const pids = { synapse: synapse.pid, relay: relay.pid };
  const section = { chatters: CHATTERS, seconds: SECONDS, rate_per_s: RATE, runs: [] };
  report.chatters = section;
  if (CHATTERS < 1 || RATE <= 0) {
    section.note = 'not run (CHAT_CHATTERS or CHAT_RATE is 0)';
    return;
  }

  log(`chatters: registering ${CHATTERS} guests (10 at a time)`);
  const guests = [];
  const setupStart = now();
  const setupDeadline = setupStart + SETUP_S * 1000;
  let failed = null;
  let next = 0;
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < CHATTERS && !failed && now() < setupDeadline) {
      const i = next++;
      try { guests.push(await chatter(base, roomId, i)); } catch (e) { failed = e.message; }
    }
  }));
  section.setup_s = round((now() - setupStart) / 1000, 1);
  section.joined = guests.length;
  log(`chatters: ${guests.length} joined in ${section.setup_s} s`);
  if (guests.length < CHATTERS) {
    section.note = `set-up incomplete: ${guests.length} of ${CHATTERS} joined${failed ? ` (${failed})` : ` within ${SETUP_S} s`}`;
    if (!guests.length) return;
  }
  const n = guests.length;

  // A. Reading through the relay's feed.
  {
    const record = { name: 'relay-feed', reads: 'relay websocket feed', receivers: n, complete: false };
    log(`relay-feed: ${n} feed sockets, ${RATE} msg/s for ${SECONDS} s`);
    const sent = new Map();
    const lat = [];
    let lastAt = 0;
    const sockets = [];
    cleanups.push(() => { for (const ws of sockets) ws.terminate(); });
    for (let i = 0; i < n; i += 50) {
      sockets.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => feedSocket(relay.url, (body, at) => {
        const t = sent.get(body);
        if (t !== undefined) { lat.push(at - t); lastAt = at; }
      }))));
    }
    await sleep(2000);
    const mark = cpuMark(pids);
    const run = await postAll(base, roomId, guests, 'chatA', sent);
    record.complete = await until(() => lat.length >= n * run.count, run.start + (SECONDS + DRAIN_S) * 1000, 200);
    record.cpu = cpuSince(mark, pids);
    Object.assign(record, {
      ...(await run.done),
      window_s: round(((record.complete ? lastAt : now()) - run.start) / 1000, 1),
      deliveries: lat.length, expected_deliveries: n * run.count, lost: n * run.count - lat.length, ...ms(lat),
    });
    for (const ws of sockets) ws.terminate();
    section.runs.push(record);
    log(`relay-feed: ${JSON.stringify(record)}`);
  }

  // B. Each guest long-polling /sync itself.
  {
    const record = { name: 'direct-sync', reads: 'Matrix /sync long-poll', receivers: n, complete: false };
    log(`direct-sync: ${n} /sync long-polls, ${RATE} msg/s for ${SECONDS} s`);
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    cleanups.push(() => ac.abort());
    const sent = new Map();
    const lat = [];
    let lastAt = 0;
    const loops = guests.map((g) => syncLoop(base, g, roomId, ac.signal, (body, at) => {
      const t = sent.get(body);
      if (t !== undefined) { lat.push(at - t); lastAt = at; }
    }));
    let synced = 0;
    for (const l of loops) l.ready.then(() => synced++);
    const syncStart = now();
    const ready = await until(() => synced === loops.length, syncStart + SETUP_S * 1000, 200);
    record.initial_sync_s = round((now() - syncStart) / 1000, 1);
    if (!ready) {
      record.note = `not run: ${synced} of ${n} initial syncs within ${SETUP_S} s`;
    } else {
      await sleep(2000);
      const mark = cpuMark(pids);
      const run = await postAll(base, roomId, guests, 'chatB', sent);
      record.complete = await until(() => lat.length >= n * run.count, run.start + (SECONDS + DRAIN_S) * 1000, 200);
      record.cpu = cpuSince(mark, pids);
      Object.assign(record, {
        ...(await run.done),
        window_s: round(((record.complete ? lastAt : now()) - run.start) / 1000, 1),
        deliveries: lat.length, expected_deliveries: n * run.count, lost: n * run.count - lat.length, ...ms(lat),
      });
    }
    ac.abort();
    const stats = await Promise.all(loops.map((l) => l.done));
    const sum = (k) => stats.reduce((s, x) => s + x[k], 0);
    Object.assign(record, { syncs: sum('syncs'), limited_syncs: sum('limited'), sync_errors: sum('errors') });
    section.runs.push(record);
    log(`direct-sync: ${JSON.stringify(record)}`);
  }
}

// ---------------------------------------------------------------------------

const report = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, node: process.version },
  knobs: {
    joins: JOINS, posts: POSTS, post_interval_ms: POST_EVERY_MS, chatters: CHATTERS,
    seconds: SECONDS, rate_per_s: RATE, setup_seconds: SETUP_S, drain_seconds: DRAIN_S,
  },
};
mkdirSync(OUT, { recursive: true });
let exitCode = 0;
try {
  report.sizes = moduleSizes();
  log(`chat module ${report.sizes.chat.brotli_bytes} B brotli (${report.sizes.chat.raw_bytes} raw); overlay ${report.sizes.overlay.brotli_bytes} B brotli`);

  log('starting Synapse, the relay and Chromium');
  const stack = await startStack();
  report.synapse = stack.synapse.version;
  log(`Synapse ${stack.synapse.version} at ${stack.synapse.base} (pid ${stack.synapse.pid}), relay ${stack.relay.url} (pid ${stack.relay.pid})`);

  // History for the panel to show, and proof the bridge runs.
  {
    const alice = stack.synapse.seeded.users.alice.access_token;
    const seen = new Set();
    const ws = await feedSocket(stack.relay.url, (body) => seen.add(body));
    let warm = false;
    for (let i = 0; i < 60 && !warm; i++) {
      await sendText(stack.synapse.base, alice, stack.synapse.seeded.room_id, `warm ${i}`);
      warm = await until(() => seen.has(`warm ${i}`), now() + 2000);
    }
    ws.terminate();
    if (!warm) throw new Error(`the bridge never brought a message to the feed: ${stack.relay.stderr()}`);
    for (let i = 1; i <= 5; i++) await sendText(stack.synapse.base, alice, stack.synapse.seeded.room_id, `before the show ${i}`);
  }

  log(`open and join: ${JOINS} fresh contexts`);
  const joined = await joinRuns(stack, report);
  if (joined) {
    log(`posts: ${POSTS}, one every ${POST_EVERY_MS} ms`);
    await postRun(joined, report);
    await joined.context.close();
  } else {
    report.posts = { posts: POSTS, note: JOINS ? 'not run: no page joined' : 'not run (CHAT_JOINS is 0)' };
  }
  await stack.browser.close();

  await chattersRun(stack, report);
} catch (e) {
  report.error = e.stack?.split('\n').slice(0, 3).join(' ') ?? String(e);
  log(`failed: ${report.error}`);
  exitCode = 1;
}
cleanup();
writeFileSync(join(OUT, 'chat.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
process.exit(exitCode);
