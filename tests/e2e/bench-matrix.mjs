// Matrix benchmark: what a Matrix message costs on its way to viewers, through
// the relay's bridge and, beside it, with Synapse serving every viewer itself.
// Run by `scripts/bench.sh matrix` (and by `scripts/bench.sh`). Not a test: it
// asserts nothing, it measures, then writes bench/out/matrix.json.
//
// One throwaway loopback Synapse (scripts/synapse/start.sh on a free port, its
// own temporary directory; seeded by seed.py). alice sends m.text through the
// client-server API (PUT …/send/m.room.message/{txn}) at MATRIX_RATE msg/s,
// MATRIX_MESSAGES of them per run; every latency is from the start of that
// call to the message's arrival:
//   relay-1      the relay bridges #demo:localhost into a channel; one
//                Chromium page with the widget: send → caption text in its DOM.
//   relay-1000   the same page plus MATRIX_VIEWERS websocket feed viewers:
//                send → caption in DOM, and send → frame at every viewer.
//   direct-N     no relay: N Matrix guests (register?kind=guest, join) each
//                long-poll /sync (30 s timeout, a filter for the room's
//                messages); send → the sync response that carries it.
//                N from MATRIX_GUESTS (1,200,1000); the guests of a run stay
//                joined for the next (the room grows to N guests). A run that
//                cannot set up within MATRIX_SETUP_SECONDS or deliver within
//                MATRIX_DRAIN_SECONDS after its last send is reported as not
//                completed, with what it did deliver.
// CPU is each process's utime + stime (/proc/PID/stat) over the run's window
// (first send → last delivery), in % of one core. Everything started here is
// stopped by PID (Synapse through stop.sh and its pid file).
import { mkdirSync, writeFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ROOT, startRelay, launchBrowser, recordCaptionTimes } from './harness.mjs';
import {
  now, sleep, startSynapse, sendText, guestJoin, syncLoop, round, waitExited, ms, until, cpuMark, cpuSince, sendPaced,
} from './matrix.mjs';

const env = (k, d) => Number(process.env[k] ?? d);
const RATE = env('MATRIX_RATE', 1);
const MESSAGES = env('MATRIX_MESSAGES', 120);
const VIEWERS = env('MATRIX_VIEWERS', 1000);
const GUESTS = (process.env.MATRIX_GUESTS ?? '1,200,1000').split(',').map(Number).filter((n) => n > 0);
const SETUP_S = env('MATRIX_SETUP_SECONDS', 300);
const DRAIN_S = env('MATRIX_DRAIN_SECONDS', 120);
const CHANNEL = 'matrix';
const OUT = join(ROOT, 'bench', 'out');

// Everything this script started, stopped on every way out.
const cleanups = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const f of cleanups.reverse()) { try { f(); } catch (e) { console.error(`[matrix] cleanup: ${e.message}`); } }
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
process.on('exit', cleanup);
// A hard bound on the whole benchmark, whatever happens.
const budget = 600 + (MESSAGES / RATE + DRAIN_S + SETUP_S) * (2 + GUESTS.length);
setTimeout(() => { console.error(`[matrix] gave up after ${Math.round(budget)} s`); process.exit(1); }, budget * 1000).unref();

const log = (...a) => console.error('[matrix]', ...a);

/**
 * Sends MESSAGES m.text as alice at RATE (open loop). Fills `sent`: body →
 * send-call start.
 */
const sendAll = (base, seeded, label, sent) => sendPaced(base, seeded.room_id, {
  count: MESSAGES, rate: RATE, label, sent, tokenOf: () => seeded.users.alice.access_token,
});

/** Opens the overlay page and records when each caption body appears. */
async function openPage(browser, relayUrl) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await page.goto(`${relayUrl}/overlay/${CHANNEL}?lines=3&fade=60`);
  await page.waitForFunction(() => document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
  await recordCaptionTimes(page);
  const seen = () => page.evaluate(() => window.__seen);
  const saw = (text) => page.evaluate((t) => window.__seen.some(([b]) => b === t), text);
  return { context, seen, saw };
}

/** Connects `n` feed viewers; each calls onMessage(body, at) for message frames. */
async function connectViewers(relayUrl, n, onMessage) {
  const url = `${relayUrl.replace(/^http/, 'ws')}/feed/${CHANNEL}?limit=1`;
  const viewers = [];
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => new Promise((ok, fail) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      viewers.push(ws);
      ws.once('message', () => ok()); // the snapshot
      ws.once('error', fail);
      ws.on('message', (data) => {
        const at = now();
        const text = data.toString();
        if (text.startsWith('{"type":"message"')) onMessage(JSON.parse(text).message?.body, at);
      });
    })));
  }
  return viewers;
}

const report = { date: new Date().toISOString(), rate_per_s: RATE, messages: MESSAGES, runs: [] };
mkdirSync(OUT, { recursive: true });

log('starting Synapse');
const synapse = await startSynapse();
cleanups.push(() => synapse.stop());
const { seeded, base } = synapse;
report.synapse = synapse.version;
log(`Synapse ${synapse.version} at ${base} (pid ${synapse.pid}), room ${seeded.room_alias}`);

// 1 and 2. Through the relay's bridge.
{
  const relay = await startRelay({
    args: ['--max-connections-per-ip', '100000'],
    env: {
      CHYRON_MATRIX_HOMESERVER: base,
      CHYRON_MATRIX_USER: seeded.users.bot.user_id,
      CHYRON_MATRIX_PASSWORD: seeded.users.bot.password,
      CHYRON_BRIDGE: `${CHANNEL}=${seeded.room_alias}`,
    },
  });
  // stop() signals only a live child; its data directory goes once it is gone.
  cleanups.push(() => { relay.stop('SIGKILL'); waitExited(relay.pid); relay.cleanup(); });
  const browser = await launchBrowser();
  cleanups.push(() => { browser.close().catch(() => {}); });
  const pids = { synapse: synapse.pid, relay: relay.pid };
  const page = await openPage(browser, relay.url);

  // Warm-up, not measured: the bridge logs in and joins first (seconds).
  log('relay: waiting for the bridge');
  let warm = false;
  for (let i = 0; i < 60 && !warm; i++) {
    await sendText(base, seeded.users.alice.access_token, seeded.room_id, `warm ${i}`);
    warm = await until(() => page.saw(`warm ${i}`), now() + 2000);
  }
  if (!warm) throw new Error(`the bridge never brought a message to the page: ${relay.stderr()}`);
  for (let i = 0; i < 10; i++) {
    await sendText(base, seeded.users.alice.access_token, seeded.room_id, `warm more ${i}`);
    await sleep(100);
  }
  await until(() => page.saw('warm more 9'), now() + 10000);

  for (const viewers of [0, VIEWERS]) {
    const name = `relay-${viewers || 1}`;
    const label = viewers ? 'relay-ws' : 'relay-dom';
    log(`${name}: ${viewers ? `${viewers} feed viewers + ` : ''}1 page, ${MESSAGES} messages at ${RATE}/s`);
    const sent = new Map();
    const wsLat = [];
    let wsLast = 0;
    const ws = viewers ? await connectViewers(relay.url, viewers, (body, at) => {
      const t = sent.get(body);
      if (t !== undefined) { wsLat.push(at - t); wsLast = at; }
    }) : [];
    await sleep(1000);
    const mark = cpuMark(pids);
    const run = await sendAll(base, seeded, label, sent);
    const lastBody = `${label} ${MESSAGES - 1}`;
    const deadline = run.start + (MESSAGES / RATE + DRAIN_S) * 1000;
    const complete = await until(async () => wsLat.length >= viewers * MESSAGES && (await page.saw(lastBody)), deadline, 200);
    const seen = await page.seen();
    const domLat = seen.filter(([b]) => sent.has(b)).map(([b, t]) => t - sent.get(b));
    const cpu = cpuSince(mark, pids);
    const last = Math.max(wsLast, ...seen.filter(([b]) => sent.has(b)).map(([, t]) => t));
    const window = ((complete ? last : now()) - run.start) / 1000;
    const dom = { samples: domLat.length, ...ms(domLat), lost: MESSAGES - domLat.length };
    const deliveries = viewers ? wsLat.length : domLat.length;
    const receivers = viewers || 1;
    report.runs.push({
      name, path: 'relay', receivers, feed_viewers: viewers, complete, window_s: round(window, 1), ...(await run.done),
      dom,
      deliveries, expected_deliveries: receivers * MESSAGES,
      deliveries_per_s: round(deliveries / window, 1), messages_per_s: round(deliveries / receivers / window, 2),
      ...(viewers ? ms(wsLat) : { p50_ms: dom.p50_ms, p99_ms: dom.p99_ms, max_ms: dom.max_ms }),
      lost: receivers * MESSAGES - deliveries, cpu,
    });
    log(JSON.stringify(report.runs.at(-1)));
    for (const w of ws) w.terminate();
  }
  await browser.close();
  await relay.stop();
  relay.cleanup();
}

// 3. Synapse serving every viewer: guests long-polling /sync.
{
  const guests = [];
  const pids = { synapse: synapse.pid };
  let stopped = null;
  for (const n of GUESTS) {
    if (stopped) {
      report.runs.push({ name: `direct-${n}`, path: 'direct', receivers: n, complete: false, note: `not run: ${stopped} did not complete` });
      continue;
    }
    const name = `direct-${n}`;
    const record = { name, path: 'direct', receivers: n, complete: false };
    log(`${name}: ${n} guests long-polling /sync, ${MESSAGES} messages at ${RATE}/s`);
    // Register and join the guests this run adds (4 at a time), bounded.
    const setupStart = now();
    const setupDeadline = setupStart + SETUP_S * 1000;
    let failed = null;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (guests.length < n && !failed && now() < setupDeadline) {
        guests.length++;
        const i = guests.length - 1;
        try { guests[i] = await guestJoin(base, seeded.room_id); } catch (e) { failed = e.message; }
      }
    }));
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    const sent = new Map();
    const lat = [];
    let lastAt = 0;
    const loops = guests.slice(0, n).filter(Boolean)
      .map((g) => syncLoop(base, g, seeded.room_id, ac.signal, (body, at) => {
        const t = sent.get(body);
        if (t !== undefined) { lat.push(at - t); lastAt = at; }
      }));
    let synced = 0;
    for (const l of loops) l.ready.then(() => synced++);
    const ready = await until(() => synced === loops.length, setupDeadline, 200);
    record.setup_s = round((now() - setupStart) / 1000, 1);
    if (failed || loops.length < n || !ready) {
      record.note = `did not complete: ${failed ?? `set-up (${loops.length} of ${n} guests joined and synced) exceeded ${SETUP_S} s`}`;
      ac.abort();
      await Promise.all(loops.map((l) => l.done));
      report.runs.push(record);
      log(JSON.stringify(record));
      stopped = name; // a larger N would not set up either
      continue;
    }
    await sleep(1000);
    const mark = cpuMark(pids);
    const run = await sendAll(base, seeded, `direct${n}`, sent);
    const deadline = run.start + (MESSAGES / RATE + DRAIN_S) * 1000;
    record.complete = await until(() => lat.length >= n * MESSAGES, deadline, 200);
    record.cpu = cpuSince(mark, pids);
    const window = ((record.complete ? lastAt : now()) - run.start) / 1000;
    ac.abort();
    const stats = await Promise.all(loops.map((l) => l.done));
    const sum = (k) => stats.reduce((s, x) => s + x[k], 0);
    Object.assign(record, {
      window_s: round(window, 1), ...(await run.done),
      deliveries: lat.length, expected_deliveries: n * MESSAGES,
      deliveries_per_s: round(lat.length / window, 1), messages_per_s: round(lat.length / n / window, 2),
      ...ms(lat), lost: n * MESSAGES - lat.length,
      syncs: sum('syncs'), limited_syncs: sum('limited'), sync_errors: sum('errors'),
    });
    if (!record.complete) record.note = `did not complete: ${lat.length} of ${n * MESSAGES} delivered within ${DRAIN_S} s after the last send`;
    report.runs.push(record);
    log(JSON.stringify(record));
    if (!record.complete) stopped = name; // a larger N would not either
  }
}

cleanup();
writeFileSync(join(OUT, 'matrix.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
