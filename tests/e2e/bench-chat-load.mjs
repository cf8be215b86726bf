// Full-chat benchmark, part 4 (run by bench-chat.mjs): what many chatters cost
// Synapse when they read through the relay's feed instead of each
// long-polling /sync. Also the measuring helpers the other parts share: a
// socket on the relay's feed, waiting with a deadline, latency quantiles.
//
// 4. Synapse CPU: CHAT_CHATTERS Matrix guests (register kind=guest, set a
//    display name, join #demo; 10 at a time) post CHAT_RATE msg/s in total,
//    round-robin, for CHAT_SECONDS s (PUT …/send). Run relay-feed: each guest
//    reads through a websocket on the relay's feed, as the chat module does
//    (no /sync). Run direct-sync: the same guests each long-poll /sync
//    instead. CPU of Synapse and the relay (user + system, /proc/PID/stat) over
//    first send → end of the run, % of one core; latency from the start of the
//    send call to the frame / the /sync response at every receiver.
import { setMaxListeners } from 'node:events';
import WebSocket from 'ws';
import { now, sleep, syncLoop, round, ok200, ms, until, cpuMark, cpuSince, sendPaced } from './matrix.mjs';

export { ms, until };
export const log = (...a) => console.error('[chat]', ...a);

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

/** A. Reading through the relay's feed. */
async function relayFeedRun(ctx) {
  const { relay, guests, knobs, cleanups } = ctx;
  const n = guests.length;
  const record = { name: 'relay-feed', reads: 'relay websocket feed', receivers: n, complete: false };
  log(`relay-feed: ${n} feed sockets, ${knobs.rate_per_s} msg/s for ${knobs.seconds} s`);
  const d = deliveries();
  const sockets = [];
  cleanups.push(() => { for (const ws of sockets) ws.terminate(); });
  for (let i = 0; i < n; i += 50) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => feedSocket(relay.url, d.onMessage))));
  }
  await measure(ctx, record, d, 'chatA');
  for (const ws of sockets) ws.terminate();
  log(`relay-feed: ${JSON.stringify(record)}`);
  return record;
}

/** B. Each guest long-polling /sync itself. */
async function directSyncRun(ctx) {
  const { synapse, guests, knobs, cleanups } = ctx;
  const n = guests.length;
  const record = { name: 'direct-sync', reads: 'Matrix /sync long-poll', receivers: n, complete: false };
  log(`direct-sync: ${n} /sync long-polls, ${knobs.rate_per_s} msg/s for ${knobs.seconds} s`);
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  cleanups.push(() => ac.abort());
  const d = deliveries();
  const loops = guests.map((g) => syncLoop(synapse.base, g, synapse.seeded.room_id, ac.signal, d.onMessage));
  let synced = 0;
  for (const l of loops) l.ready.then(() => synced++);
  const syncStart = now();
  const ready = await until(() => synced === loops.length, syncStart + knobs.setup_seconds * 1000, 200);
  record.initial_sync_s = round((now() - syncStart) / 1000, 1);
  if (!ready) {
    record.note = `not run: ${synced} of ${n} initial syncs within ${knobs.setup_seconds} s`;
  } else {
    await measure(ctx, record, d, 'chatB');
  }
  ac.abort();
  const stats = await Promise.all(loops.map((l) => l.done));
  const sum = (k) => stats.reduce((s, x) => s + x[k], 0);
  Object.assign(record, { syncs: sum('syncs'), limited_syncs: sum('limited'), sync_errors: sum('errors') });
  log(`direct-sync: ${JSON.stringify(record)}`);
  return record;
}

/**
 * Part 4: registers the chatters, then the relay-feed and the direct-sync
 * runs; fills report.chatters. `cleanups` gets what must stop on a way out.
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
  section.runs.push(await directSyncRun(ctx));
}
