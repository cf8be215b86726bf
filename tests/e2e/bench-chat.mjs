// Full-chat benchmark: what the chat module (chat/, matrix-sdk in the browser)
// costs a viewer, how long a cold first private message takes, and what 200
// chatters cost Synapse when they read through the relay's feed (with and
// without the chat's private-message sync) instead of each long-polling
// /sync. Run by
// `scripts/bench.sh chat` (and by `scripts/bench.sh`). Not a test: it asserts
// nothing, it measures, then writes bench/out/chat.json.
//
// Parts 1–3, what the chat module costs a viewer in Chromium (its download,
// Chat → panel and Join → composer, post → confirmed), are in
// bench-chat-browser.mjs; part 5, Message → first private message sent
// (cold), in bench-private.mjs; part 4, Synapse's CPU with many chatters
// reading the relay's feed (alone, or beside the chat's private sync as part
// 5 recorded it) vs /sync, in bench-chat-load.mjs. Each says at its top what
// it measures and how. This file: the knobs, the stack, the clean-up
// and the time bound, the order of the parts, bench/out/chat.json.
//
// Knobs (environment): CHAT_JOINS (10), CHAT_POSTS (100),
// CHAT_POST_INTERVAL_MS (250), CHAT_CHATTERS (200), CHAT_SECONDS (60),
// CHAT_RATE (2), CHAT_SETUP_SECONDS (300), CHAT_DRAIN_SECONDS (30),
// CHAT_PRIVATE_RUNS (5).
// The relay is started with its per-address limits lifted (every client here
// is 127.0.0.1). Everything started here is stopped by PID on every way out
// (Synapse through stop.sh and its pid file); the whole run is bounded.
import { mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startRelay, launchBrowser, startHostSite } from './harness.mjs';
import { now, startSynapse, sendText, waitExited } from './matrix.mjs';
import { moduleSizes, joinRuns, postRun } from './bench-chat-browser.mjs';
import { log, until, feedSocket, chattersRun } from './bench-chat-load.mjs';
import { privateRuns } from './bench-private.mjs';
import { streamPage, waitForDirectory } from './chat-harness.mjs';

const env = (k, d) => Number(process.env[k] ?? d);
const JOINS = env('CHAT_JOINS', 10);
const POSTS = env('CHAT_POSTS', 100);
const POST_EVERY_MS = env('CHAT_POST_INTERVAL_MS', 250);
const CHATTERS = env('CHAT_CHATTERS', 200);
const SECONDS = env('CHAT_SECONDS', 60);
const RATE = env('CHAT_RATE', 2);
const SETUP_S = env('CHAT_SETUP_SECONDS', 300);
const DRAIN_S = env('CHAT_DRAIN_SECONDS', 30);
const PRIVATE_RUNS = env('CHAT_PRIVATE_RUNS', 5);
const OUT = join(ROOT, 'bench', 'out');
const knobs = {
  joins: JOINS, posts: POSTS, post_interval_ms: POST_EVERY_MS, chatters: CHATTERS,
  seconds: SECONDS, rate_per_s: RATE, setup_seconds: SETUP_S, drain_seconds: DRAIN_S,
  private_runs: PRIVATE_RUNS,
};

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
const budget = 600 + JOINS * 60 + (POSTS * POST_EVERY_MS) / 1000 + DRAIN_S + PRIVATE_RUNS * 240
  + 4 * SETUP_S + 4 * (SECONDS + DRAIN_S + 10);
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
  await waitForDirectory(relay.url, (r) => r?.channels?.some((c) => c.channel === 'demo' && c.matrix?.room_id), '#demo');
  const browser = await launchBrowser();
  cleanups.push(() => { browser.close().catch(() => {}); });
  const site = await startHostSite(new Map([['/stream', streamPage(relay.url)]]));
  cleanups.push(() => site.close());
  return { synapse, relay, browser, site };
}

// ---------------------------------------------------------------------------

const report = {
  date: new Date().toISOString(),
  // Load averages (1, 5, 15 min) at the start and the end: the machine may be
  // shared, and a busy one starves Synapse (its CPU % then saturates lower).
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, node: process.version, loadavg_start: loadavg() },
  knobs,
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
  const joined = await joinRuns(stack, report, knobs);
  if (joined) {
    log(`posts: ${POSTS}, one every ${POST_EVERY_MS} ms`);
    await postRun(joined, report, knobs);
    await joined.context.close();
  } else {
    report.posts = { posts: POSTS, note: JOINS ? 'not run: no page joined' : 'not run (CHAT_JOINS is 0)' };
  }
  log(`private: ${PRIVATE_RUNS} cold runs, two fresh accounts each`);
  await privateRuns(stack, report, knobs);
  await stack.browser.close();

  await chattersRun(stack, report, knobs, cleanups);
} catch (e) {
  report.error = e.stack?.split('\n').slice(0, 3).join(' ') ?? String(e);
  log(`failed: ${report.error}`);
  exitCode = 1;
}
cleanup();
report.machine.loadavg_end = loadavg();
writeFileSync(join(OUT, 'chat.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
process.exit(exitCode);
