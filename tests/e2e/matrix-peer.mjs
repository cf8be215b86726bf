// Drives chyron-matrix-peer (tests/matrix-peer/): a native matrix-sdk client
// with end-to-end encryption, standing in for Element. The protocol (JSON
// lines) is documented at the top of tests/matrix-peer/src/main.rs.
//
//   const alice = await startPeer({ bin: process.env.CHYRON_MATRIX_PEER_BIN, name: 'alice' });
//   await alice.call('register', { homeserver, user: 'alice', password });
//   const { room } = await alice.call('dm', { users: ['@bob:localhost'] });
//   await alice.call('send', { room, body: 'hi' });
//   const ev = await bob.waitFor((e) => e.event === 'message' && e.body === 'hi');
//   await alice.stop();
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Events kept per peer (oldest dropped): enough for any test here. */
const MAX_EVENTS = 5000;

/**
 * Starts a peer. `dir`: its store directory (default: a new temporary one,
 * which stop() removes); `name` labels its stderr lines (shown with
 * CHYRON_PEER_LOG=1). Returns
 *   call(cmd, args, timeoutMs = 60000) → Promise<reply>: rejects on ok:false,
 *     on timeout, or if the peer exits first;
 *   waitFor(predicate, timeoutMs = 30000) → Promise<event>: the first event,
 *     already seen or still to come, that the predicate accepts;
 *   events: every event line so far; pid; dir;
 *   stop({ keepDir }): quits it (SIGKILL by pid after 5 s) and removes a
 *     temporary dir, unless keepDir (a later peer may `restore` from it; the
 *     caller removes it then). Idempotent.
 */
export async function startPeer({ bin, dir, name = 'peer' } = {}) {
  if (!bin) throw new Error('startPeer: no binary (CHYRON_MATRIX_PEER_BIN)');
  let temp = !dir;
  dir ??= mkdtempSync(join(tmpdir(), `chyron-peer-${name}-`));
  const child = spawn(bin, [dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events = [];
  const pending = new Map(); // id → { ok, fail, timer }
  const waiters = new Set(); // { pred, ok, timer }
  let nextId = 1;
  let exited = null;

  const exitedPromise = new Promise((resolve) => child.on('close', (code, sig) => {
    exited = `peer ${name} exited (${sig ?? code})`;
    for (const p of pending.values()) { clearTimeout(p.timer); p.fail(new Error(exited)); }
    pending.clear();
    for (const w of waiters) { clearTimeout(w.timer); w.fail(new Error(exited)); }
    waiters.clear();
    resolve();
  }));
  child.on('error', (e) => { exited = `peer ${name}: ${e.message}`; });
  createInterface({ input: child.stderr }).on('line', (l) => {
    if (process.env.CHYRON_PEER_LOG) process.stderr.write(`[${name}] ${l}\n`);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.event) {
      events.push(msg);
      if (events.length > MAX_EVENTS) events.shift();
      for (const w of waiters) {
        if (w.pred(msg)) { waiters.delete(w); clearTimeout(w.timer); w.ok(msg); }
      }
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.ok(msg); else p.fail(new Error(`${name} ${p.cmd}: ${msg.error}`));
  });

  function call(cmd, args = {}, timeoutMs = 60000) {
    if (exited) return Promise.reject(new Error(exited));
    const id = nextId++;
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        fail(new Error(`${name} ${cmd}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { ok, fail, timer, cmd });
      child.stdin.write(`${JSON.stringify({ ...args, id, cmd })}\n`);
    });
  }

  function waitFor(pred, timeoutMs = 30000) {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((ok, fail) => {
      const w = { pred, ok, fail };
      w.timer = setTimeout(() => {
        waiters.delete(w);
        fail(new Error(`${name}: no matching event within ${timeoutMs} ms; last: ${JSON.stringify(events.slice(-5))}`));
      }, timeoutMs);
      waiters.add(w);
    });
  }

  async function stop({ keepDir = false } = {}) {
    if (!exited) {
      child.stdin.end(`${JSON.stringify({ id: 0, cmd: 'quit' })}\n`);
      const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, 5000);
      await exitedPromise;
      clearTimeout(timer);
    }
    if (keepDir) temp = false;
    if (temp) rmSync(dir, { recursive: true, force: true });
  }

  return { call, waitFor, events, stop, pid: child.pid, dir };
}

/**
 * Waits until `peer` knows `user`'s device (`device`: an id, or a predicate
 * over the `devices` reply's list): its sync saw the device-list change and
 * the key query ran. Only then does the peer's next message reach that
 * device; one sent before stays undecryptable there (a real race, in Element
 * too). Polls after each sync, at most `tries` syncs.
 */
export async function waitForDevice(peer, user, device, tries = 20) {
  const ok = typeof device === 'function' ? device : (list) => list.some((d) => d.device_id === device);
  for (let i = 0; i < tries; i++) {
    const { devices } = await peer.call('devices', { user });
    if (ok(devices)) return devices;
    await peer.call('wait_sync', { timeout_ms: 10000 });
  }
  throw new Error(`the peer never learned of ${user}'s device ${typeof device === 'string' ? device : ''}`);
}
