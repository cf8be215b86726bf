// Full-chat benchmark, part 4 (run by bench-chat.mjs): what many chatters cost
// Synapse when they read through the relay's feed instead of each
// long-polling /sync, and what the chat's private-message sync adds (idle,
// and long-polling). Also the
// measuring helpers the other parts share: a socket on the relay's feed,
// waiting with a deadline, latency quantiles, the median.
//
// 4. Synapse CPU: CHAT_CHATTERS Matrix guests (register kind=guest, set a
//    display name, join #demo; 10 at a time) post CHAT_RATE msg/s in total,
//    round-robin, for CHAT_SECONDS s (PUT …/send). Run relay-feed: each guest
//    reads through a websocket on the relay's feed, as the chat module does
//    (no /sync). The chat's private-message client also syncs
//    (chat/src/matrix_private.rs filter()/sync(): the bridged rooms'
//    timelines left out, timeline limit 50, no ephemeral, no presence,
//    set_presence=offline, use_state_after; the query the page sent in part
//    5 when it ran, else the same built here), in one of two ways
//    (chat/src/web/private.rs private_active()/idle_wait()):
//    Run feed+private-idle, what every chatter without private messages in
//    use does: the same feed sockets, and each guest's private sync asks
//    with timeout=0, then waits IDLE_POLL_MS (20 s) before the next; the
//    guests' first idle syncs spread evenly over those 20 s.
//    Run feed+private-long-poll, the worst case (as if every chatter had a
//    private conversation open, or private activity in the last 2 min):
//    each private sync long-polls (timeout=30000); the guests are in the
//    bridged room, so Synapse wakes each long-poll on every public message
//    and finds nothing to return.
//    Run direct-sync: each guest long-polls /sync for the room's messages
//    (matrix.mjs syncFilter) instead. CPU of Synapse and the relay (user +
//    system, /proc/PID/stat) over first send → end of the run, % of one
//    core; latency from the start of the send call to the frame / the /sync
//    response at every receiver.
import { setMaxListeners } from 'node:events';
import WebSocket from 'ws';
import { now, sleep, syncLoop, round, ok200, call, ms, until, cpuMark, cpuSince, sendPaced } from './matrix.mjs';

export { ms, until };
export const log = (...a) => console.error('[chat]', ...a);

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Connects a websocket to the relay's feed; onMessage(body, at) per message frame. */
export function feedSocket(relayUrl, onMessage) {
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
async function postAll(base, roomId, guests, label, sent, { seconds, rate_per_s: rate }) {
  const count = Math.max(1, Math.round(seconds * rate));
  const tokenOf = (i) => guests[i % guests.length].token;
  const run = await sendPaced(base, roomId, { count, rate, label, sent, tokenOf });
  return { start: run.start, count, done: run.done.then((r) => ({ messages: count, ...r })) };
}

/** What one run sent (body → start of its send call) and when each receiver got it. */
function deliveries() {
  const d = { sent: new Map(), lat: [], lastAt: 0 };
  d.onMessage = (body, at) => {
    const t = d.sent.get(body);
    if (t !== undefined) { d.lat.push(at - t); d.lastAt = at; }
  };
  return d;
}

/**
 * After 2 s of quiet, one run of posts labelled `label`; waits for every
 * guest to receive every post (or the drain time) and fills `record` with
 * the CPU, the send calls, the deliveries and their latency.
 */
async function measure(ctx, record, d, label) {
  const { synapse, pids, guests, knobs } = ctx;
  const n = guests.length;
  await sleep(2000);
  const mark = cpuMark(pids);
  const run = await postAll(synapse.base, synapse.seeded.room_id, guests, label, d.sent, knobs);
  const deadline = run.start + (knobs.seconds + knobs.drain_seconds) * 1000;
  record.complete = await until(() => d.lat.length >= n * run.count, deadline, 200);
  record.cpu = { window_s: round((now() - mark.at) / 1000, 1), ...cpuSince(mark, pids) };
  Object.assign(record, {
    ...(await run.done),
    window_s: round(((record.complete ? d.lastAt : now()) - run.start) / 1000, 1),
    deliveries: d.lat.length, expected_deliveries: n * run.count, lost: n * run.count - d.lat.length, ...ms(d.lat),
  });
}

/** One feed socket per guest (50 at a time), each delivering into `d`. */
async function openFeeds({ relay, guests, cleanups }, d) {
  const n = guests.length;
  const sockets = [];
  cleanups.push(() => { for (const ws of sockets) ws.terminate(); });
  for (let i = 0; i < n; i += 50) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => feedSocket(relay.url, d.onMessage))));
  }
  return sockets;
}

/**
 * Starts `loop(guest, signal)` for every guest, waits for their initial
 * syncs (CHAT_SETUP_SECONDS), runs `body()`, stops them; resolves to their
 * stats. Fills record.initial_sync_s, or record.note when they were too slow.
 */
async function withSyncs({ guests, knobs, cleanups }, record, loop, body) {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  cleanups.push(() => ac.abort());
  const loops = guests.map((g) => loop(g, ac.signal));
  let synced = 0;
  for (const l of loops) l.ready.then(() => synced++);
  const syncStart = now();
  const ready = await until(() => synced === loops.length, syncStart + knobs.setup_seconds * 1000, 200);
  record.initial_sync_s = round((now() - syncStart) / 1000, 1);
  if (!ready) record.note = `not run: ${synced} of ${guests.length} initial syncs within ${knobs.setup_seconds} s`;
  else await body(loops);
  ac.abort();
  return Promise.all(loops.map((l) => l.done));
}

/** chat/src/web/private.rs IDLE_POLL_MS: the wait after an idle private sync. */
const IDLE_POLL_MS = 20000;
/** chat/src/matrix_private.rs LONG_POLL, in ms. */
const LONG_POLL_MS = 30000;

/**
 * The chat's private-message /sync query: as the page sent it (part 5),
 * else built the same way. The chat sends one query in two modes that
 * differ only in `timeout` (long-poll / idle), and the page in part 5 may
 * have been in either when its first sync with `since` was recorded: both
 * are made from it with the timeout set.
 */
function privateQuery(recorded, roomId) {
  let from, sent, first;
  if (recorded?.long_poll?.filter) {
    from = 'recorded from the chat page';
    sent = recorded.long_poll;
    first = recorded.first ?? recorded.long_poll;
  } else {
    // matrix_private.rs filter(): ruma's ignore_all() is {"types": []}.
    const filter = JSON.stringify({
      presence: { types: [] },
      room: { timeline: { not_rooms: [roomId], limit: 50 }, ephemeral: { types: [] } },
    });
    from = 'built like matrix_private.rs (the page was not recorded)';
    sent = { filter, set_presence: 'offline', timeout: String(LONG_POLL_MS), use_state_after: 'true' };
    first = sent;
  }
  return {
    from, first, page_timeout: sent.timeout ?? null,
    long: { ...sent, timeout: String(LONG_POLL_MS) }, idle: { ...sent, timeout: '0' },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A guest's private-message sync: the first sync with the chat's query,
 * then, with `since`, either long-polls back to back (`idleMs` 0) or, as
 * the chat when private messages are not in use, waits `offsetMs` once and
 * then syncs with timeout=0 every `idleMs`. Counts responses, those that
 * carried the bridged room (the filter should leave it out), and how long
 * each took.
 */
function privateSyncLoop(base, guest, roomId, query, signal, { idleMs = 0, offsetMs = 0 } = {}) {
  const stats = { syncs: 0, with_bridged: 0, errors: 0, took: [] };
  const loop = idleMs ? query.idle : query.long;
  let markReady;
  const ready = new Promise((r) => { markReady = r; });
  const done = (async () => {
    let since = null;
    while (!signal.aborted) {
      const q = new URLSearchParams(since === null ? query.first : { ...loop, since });
      const t0 = now();
      let r;
      try {
        r = await call(base, 'GET', `/_matrix/client/v3/sync?${q}`, { token: guest.token, signal, timeoutMs: 120000 });
      } catch {
        if (signal.aborted) break;
        stats.errors++;
        await sleep(200);
        continue;
      }
      if (r.status !== 200) { stats.errors++; await sleep(200); continue; }
      const first = since === null;
      if (first) markReady();
      else {
        stats.syncs++;
        stats.took.push(now() - t0);
        if (r.body.rooms?.join?.[roomId]?.timeline?.events?.length) stats.with_bridged++;
      }
      since = r.body.next_batch;
      if (idleMs) await pause(first ? offsetMs : idleMs, signal);
    }
    markReady();
    return stats;
  })();
  return { ready, done, stats };
}

/** A. Reading through the relay's feed. */
async function relayFeedRun(ctx) {
  const n = ctx.guests.length;
  const { knobs } = ctx;
  const record = { name: 'relay-feed', reads: 'relay websocket feed', receivers: n, complete: false };
  log(`relay-feed: ${n} feed sockets, ${knobs.rate_per_s} msg/s for ${knobs.seconds} s`);
  const d = deliveries();
  const sockets = await openFeeds(ctx, d);
  await measure(ctx, record, d, 'chatA');
  for (const ws of sockets) ws.terminate();
  log(`relay-feed: ${JSON.stringify(record)}`);
  return record;
}

/**
 * C. The feed, and each guest's private-message sync beside it: `idle`
 * (timeout=0 every 20 s, staggered: the chat with private messages not in
 * use) or long-polling (the worst case: every chatter with private
 * messages in use).
 */
async function feedPrivateSyncRun(ctx, recorded, idle) {
  const { synapse, guests, knobs } = ctx;
  const n = guests.length;
  const roomId = synapse.seeded.room_id;
  const query = privateQuery(recorded, roomId);
  const name = idle ? 'feed+private-idle' : 'feed+private-long-poll';
  const record = {
    name, receivers: n, complete: false,
    reads: idle
      ? `relay websocket feed + the chat's private /sync when idle (timeout=0, then ${IDLE_POLL_MS / 1000} s, staggered)`
      : 'relay websocket feed + the chat\'s private /sync long-polled (as if every chatter had a private conversation open)',
    sync_query_from: query.from, sync_query: idle ? query.idle : query.long, page_sent_timeout: query.page_timeout,
    ...(idle ? { idle_poll_ms: IDLE_POLL_MS } : {}),
  };
  log(`${name}: ${n} feed sockets and ${n} private /syncs (${idle ? `timeout=0 every ${IDLE_POLL_MS} ms` : 'long-polls'}; ${query.from}), ${knobs.rate_per_s} msg/s for ${knobs.seconds} s`);
  const d = deliveries();
  const sockets = await openFeeds(ctx, d);
  const count = (loops, k) => loops.reduce((s, l) => s + (k === 'took' ? l.stats.took.length : l.stats[k]), 0);
  let tookFrom = [];
  const stats = await withSyncs(ctx, record,
    (g, signal) => privateSyncLoop(synapse.base, g, roomId, query, signal,
      idle ? { idleMs: IDLE_POLL_MS, offsetMs: (guests.indexOf(g) * IDLE_POLL_MS) / n } : {}),
    async (loops) => {
      const before = count(loops, 'syncs');
      const bridgedBefore = count(loops, 'with_bridged');
      tookFrom = loops.map((l) => l.stats.took.length);
      await measure(ctx, record, d, idle ? 'chatI' : 'chatC');
      record.sync_responses_in_run = count(loops, 'syncs') - before;
      record.sync_responses_with_bridged_room = count(loops, 'with_bridged') - bridgedBefore;
      const took = loops.flatMap((l, i) => l.stats.took.slice(tookFrom[i]));
      const q = ms(took);
      record.sync_call_p50_ms = q.p50_ms ?? null;
      record.sync_call_p99_ms = q.p99_ms ?? null;
    });
  for (const ws of sockets) ws.terminate();
  const sum = (k) => stats.reduce((s, x) => s + x[k], 0);
  Object.assign(record, { syncs: sum('syncs'), sync_errors: sum('errors') });
  log(`${name}: ${JSON.stringify({ ...record, sync_query: undefined })}`);
  return record;
}

/** B. Each guest long-polling /sync itself. */
async function directSyncRun(ctx) {
  const { synapse, guests, knobs } = ctx;
  const n = guests.length;
  const record = { name: 'direct-sync', reads: 'Matrix /sync long-poll', receivers: n, complete: false };
  log(`direct-sync: ${n} /sync long-polls, ${knobs.rate_per_s} msg/s for ${knobs.seconds} s`);
  const d = deliveries();
  const stats = await withSyncs(ctx, record,
    (g, signal) => syncLoop(synapse.base, g, synapse.seeded.room_id, signal, d.onMessage),
    () => measure(ctx, record, d, 'chatB'));
  const sum = (k) => stats.reduce((s, x) => s + x[k], 0);
  Object.assign(record, { syncs: sum('syncs'), limited_syncs: sum('limited'), sync_errors: sum('errors') });
  log(`direct-sync: ${JSON.stringify(record)}`);
  return record;
}

/**
 * Part 4: registers the chatters, then the relay-feed, feed+private-idle,
 * feed+private-long-poll and direct-sync runs; fills report.chatters. `cleanups` gets what must
 * stop on a way out. The private sync replays report.private.sync_requests
 * (part 5) when there.
 */
export async function chattersRun(stack, report, knobs, cleanups) {
  const { chatters: CHATTERS, seconds: SECONDS, rate_per_s: RATE, setup_seconds: SETUP_S } = knobs;
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

  const ctx = { synapse, relay, pids, guests, knobs, cleanups };
  section.runs.push(await relayFeedRun(ctx));
  section.runs.push(await feedPrivateSyncRun(ctx, report.private?.sync_requests, true));
  section.runs.push(await feedPrivateSyncRun(ctx, report.private?.sync_requests, false));
  section.runs.push(await directSyncRun(ctx));
}
