// Matrix side of the benchmark (tests/e2e/bench-matrix.mjs): a throwaway
// loopback Synapse from scripts/synapse/ (own temporary directory, free port,
// stopped by its pid file through stop.sh), the plain client-server API over
// keep-alive HTTP (node:http: cheaper per request than fetch, which matters
// with 1,000 long-polls on two cores), guests and their /sync loops, and CPU
// time of a process from /proc/PID/stat.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const SCRIPTS = join(ROOT, 'scripts', 'synapse');
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free loopback port (the kernel's pick, released again). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

/** Starts Synapse in a fresh temporary directory and seeds it (seed.py). */
export async function startSynapse() {
  const dir = mkdtempSync(join(tmpdir(), 'chyron-bench-synapse-'));
  const port = await freePort();
  const venv = process.env.CHYRON_SYNAPSE_VENV ?? join(ROOT, '.data', 'synapse-venv');
  const env = { ...process.env, CHYRON_SYNAPSE_VENV: venv };
  const stop = () => {
    try { execFileSync(join(SCRIPTS, 'stop.sh'), [dir], { stdio: ['ignore', 'ignore', 'inherit'] }); } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const base = execFileSync(join(SCRIPTS, 'start.sh'), [dir, String(port)], {
      env, stdio: ['ignore', 'pipe', 'inherit'], timeout: 180000,
    }).toString().trim();
    const seeded = JSON.parse(execFileSync('python3', [join(SCRIPTS, 'seed.py'), base], { timeout: 60000 }));
    const pid = Number(readFileSync(join(dir, 'synapse.pid'), 'utf8').trim());
    const version = execFileSync(join(venv, 'bin', 'python'), ['-c',
      'import importlib.metadata as m; print(m.version("matrix-synapse"))']).toString().trim();
    return { base, dir, pid, seeded, version, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });

/**
 * One client-server API call; resolves to { status, body } (body parsed JSON).
 * `signal` aborts it (the sync loops' stop); `timeoutMs` bounds it.
 */
export function call(base, method, path, { token, body, signal, timeoutMs = 60000 } = {}) {
  return new Promise((ok, fail) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(base + path, {
      method, agent, signal, timeout: timeoutMs,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = { raw: text }; }
        ok({ status: res.statusCode, body: json });
      });
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path.split('?')[0]}: timed out`)));
    req.on('error', fail);
    req.end(data);
  });
}

/** Like `call`, but anything but 200 is an error. */
export async function ok200(base, method, path, opts) {
  const r = await call(base, method, path, opts);
  if (r.status !== 200) throw new Error(`${method} ${path.split('?')[0]}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

let txn = 0;
/** Sends an m.text as the token's user; resolves to the HTTP status. */
export async function sendText(base, token, roomId, text) {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${process.pid}-${Date.now()}-${txn++}`;
  const r = await call(base, 'PUT', path, { token, body: { msgtype: 'm.text', body: text }, timeoutMs: 120000 });
  return r.status;
}

/** Registers a guest (POST /register?kind=guest) and joins it to the room. */
export async function guestJoin(base, roomId) {
  const g = await ok200(base, 'POST', '/_matrix/client/v3/register?kind=guest', { body: {} });
  await ok200(base, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: g.access_token, body: {} });
  return { userId: g.user_id, token: g.access_token };
}

/**
 * What a guest's client asks /sync for: the one room's m.room.message events,
 * members lazily (only the senders'), nothing else.
 */
export function syncFilter(roomId, limit) {
  return encodeURIComponent(JSON.stringify({
    presence: { types: [] },
    account_data: { types: [] },
    room: {
      rooms: [roomId],
      timeline: { limit, types: ['m.room.message'] },
      state: { lazy_load_members: true },
      ephemeral: { types: [] },
      account_data: { types: [] },
    },
  }));
}

/**
 * One guest's /sync long-poll loop: an initial sync (no timeline), then
 * `since` + 30 s timeout until `signal` aborts. Calls onEvent(body, at) for
 * each m.room.message of the room. Resolves to counts once stopped; `ready`
 * resolves after the initial sync.
 */
export function syncLoop(base, guest, roomId, signal, onEvent) {
  const stats = { syncs: 0, limited: 0, errors: 0 };
  let markReady;
  const ready = new Promise((r) => { markReady = r; });
  const first = syncFilter(roomId, 0);
  const loop = syncFilter(roomId, 100);
  const done = (async () => {
    let since = null;
    while (!signal.aborted) {
      const q = since === null ? `filter=${first}` : `since=${encodeURIComponent(since)}&timeout=30000&filter=${loop}`;
      let r;
      try {
        r = await call(base, 'GET', `/_matrix/client/v3/sync?${q}`, { token: guest.token, signal, timeoutMs: 120000 });
      } catch (e) {
        if (signal.aborted) break;
        stats.errors++;
        await sleep(200);
        continue;
      }
      const at = now();
      if (r.status !== 200) { stats.errors++; await sleep(200); continue; }
      stats.syncs++;
      const timeline = r.body.rooms?.join?.[roomId]?.timeline;
      if (since !== null && timeline) {
        if (timeline.limited) stats.limited++;
        for (const ev of timeline.events ?? []) {
          if (ev.type === 'm.room.message' && typeof ev.content?.body === 'string') onEvent(ev.content.body, at);
        }
      }
      if (since === null) markReady();
      since = r.body.next_batch;
    }
    markReady();
    return stats;
  })();
  return { ready, done };
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
  } catch {
    return NaN;
  }
}

/**
 * Waits (synchronously, for exit handlers) until PID has exited or is a zombie,
 * at most `ms`: its files are closed then, so its directory can go.
 */
export function waitExited(pid, ms = 3000) {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + ms; Date.now() < end; Atomics.wait(nap, 0, 0, 20)) {
    let stat;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return; }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
  }
}

/** The q-quantile of xs (nearest rank), NaN when empty. */
export function pct(xs, q) {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.round((s.length - 1) * q)] : NaN;
}
export const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** p50 / p99 / max of latencies in ms, rounded, for the benchmarks' JSON. */
export const ms = (xs) => ({ p50_ms: round(pct(xs, 0.5)), p99_ms: round(pct(xs, 0.99)), max_ms: round(pct(xs, 1)) });

/** Waits until `ready()` or `deadline` (ms since epoch); true if ready. */
export async function until(ready, deadline, step = 100) {
  while (!(await ready())) {
    if (now() > deadline) return false;
    await sleep(step);
  }
  return true;
}

/** CPU counters of this process (loadgen) and `pids` ({ name: pid }), to difference over a window. */
export function cpuMark(pids) {
  const u = process.cpuUsage();
  return { at: now(), loadgen: (u.user + u.system) / 1e6, ...Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)])) };
}

/** Each process's CPU since `mark`, in % of one core: { loadgen_pct, NAME_pct, … }. */
export function cpuSince(mark, pids) {
  const later = cpuMark(pids);
  const secs = (later.at - mark.at) / 1000;
  const out = {};
  for (const k of ['loadgen', ...Object.keys(pids)]) out[`${k}_pct`] = round(((later[k] - mark[k]) / secs) * 100, 1);
  return out;
}

/**
 * Sends `count` m.text at `rate` msg/s (open loop: each on its schedule, not
 * after the previous answer), the i-th `${label} i` as `tokenOf(i)`; resolves
 * once all are sent. Fills `sent`: body → send-call start. `done` resolves to
 * how many calls succeeded and the send calls' p50 / p99.
 */
export async function sendPaced(base, roomId, { count, rate, label, sent, tokenOf }) {
  const took = [];
  const calls = [];
  const start = now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - now();
    if (wait > 0) await sleep(wait);
    const body = `${label} ${i}`;
    const t = now();
    sent.set(body, t);
    calls.push(sendText(base, tokenOf(i), roomId, body)
      .then((status) => { took.push(now() - t); return status === 200; }, () => false));
  }
  const done = Promise.all(calls).then((oks) => ({
    sent_ok: oks.filter(Boolean).length, send_call_p50_ms: round(pct(took, 0.5)), send_call_p99_ms: round(pct(took, 0.99)),
  }));
  return { start, done };
}
