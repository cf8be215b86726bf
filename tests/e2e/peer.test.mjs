// The native Matrix test client (tests/matrix-peer/, the stand-in for
// Element) against a real Synapse: encrypted private rooms both ways, a group
// of three, notes to oneself, messages a device cannot decrypt (reported as
// `utd`, never dropped), blocking; and, in Synapse's own database, only
// m.room.encrypted events in those rooms. Needs CHYRON_MATRIX_PEER_BIN
// (scripts/test.sh sets it); skipped without it, except under CI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSynapse, ok200 } from './matrix.mjs';
import { startPeer, waitForDevice } from './matrix-peer.mjs';

const BIN = process.env.CHYRON_MATRIX_PEER_BIN;
const missing = !BIN || !existsSync(BIN);
if (missing && process.env.CI) throw new Error(`CHYRON_MATRIX_PEER_BIN missing under CI: ${BIN}`);
const skip = missing && 'CHYRON_MATRIX_PEER_BIN not set (scripts/test.sh builds it)';

const PASSWORD = 'peer-test-password';
let synapse;
const peers = [];

before(async () => {
  if (!skip) synapse = await startSynapse();
});

after(async () => {
  await Promise.allSettled(peers.map((p) => p.stop()));
  synapse?.stop();
});

/** A peer that registered `user` (or logged in, with `login`). */
async function peer(user, { login, deviceId, autoJoin = false } = {}) {
  const p = await startPeer({ bin: BIN, name: user });
  peers.push(p);
  const reply = await p.call(login ? 'login' : 'register', {
    homeserver: synapse.base, user, password: login ?? PASSWORD,
    ...(deviceId ? { device_id: deviceId } : {}),
  });
  p.id = reply.user_id;
  p.device = reply.device_id;
  if (autoJoin) await p.call('auto_join', { on: true });
  return p;
}

/** Event types Synapse stored in `roomId` (its own SQLite database). */
function storedTypes(roomId) {
  const out = execFileSync('python3', ['-c', `
import sqlite3, sys, json
c = sqlite3.connect(sys.argv[1])
print(json.dumps([r[0] for r in c.execute("select type from events where room_id = ?", (sys.argv[2],))]))
`, join(synapse.dir, 'homeserver.db'), roomId]);
  return JSON.parse(out.toString());
}

/** Messages travel only as m.room.encrypted; the room was made encrypted. */
function assertOnlyEncrypted(roomId, atLeast) {
  const types = storedTypes(roomId);
  assert.ok(types.includes('m.room.encryption'), `no m.room.encryption in ${types}`);
  assert.ok(!types.includes('m.room.message'), `plaintext message stored: ${types}`);
  const n = types.filter((t) => t === 'm.room.encrypted').length;
  assert.ok(n >= atLeast, `${n} encrypted events stored, expected ≥ ${atLeast}`);
}

const msg = (room, body) => (e) => e.event === 'message' && e.room === room && e.body === body;

/** `to` receives `body` in `room` from `from`, decrypted. */
async function received(to, from, room, body) {
  const e = await to.waitFor(msg(room, body));
  assert.equal(e.sender, from.id);
  assert.equal(e.encrypted, true, `${body}: not decrypted from an encrypted event`);
  assert.equal(e.own, false);
  return e;
}

test('two peers: an encrypted direct room, messages both ways', { skip }, async () => {
  const [ann, ben] = await Promise.all([peer('peer-ann'), peer('peer-ben')]);
  const { room } = await ann.call('dm', { users: [ben.id] });
  const invite = await ben.waitFor((e) => e.event === 'invite' && e.room === room);
  assert.deepEqual([invite.from, invite.direct], [ann.id, true]);
  assert.equal((await ben.call('join', { room })).encrypted, true);

  const sent = await ann.call('send', { room, body: 'hello **ben**', formatted_body: 'hello <b>ben</b>' });
  assert.equal(sent.encrypted, true);
  const got = await received(ben, ann, room, 'hello **ben**');
  assert.equal(got.formatted_body, 'hello <b>ben</b>');
  assert.equal(got.event_id, sent.event_id);
  await ben.call('send', { room, body: 'hi ann' });
  assert.equal((await received(ann, ben, room, 'hi ann')).formatted_body, null);
  // Our own echo decrypts too (Megolm: the sender keeps its session).
  const echo = await ann.waitFor(msg(room, 'hello **ben**'));
  assert.deepEqual([echo.own, echo.encrypted], [true, true]);

  // Recorded as direct on both sides (m.direct, from the invite's is_direct).
  await ben.call('wait_sync');
  const listed = (p) => p.call('rooms').then((r) => r.rooms.find((x) => x.room === room));
  for (const p of [ann, ben]) {
    const r = await listed(p);
    assert.deepEqual([r.state, r.encrypted], ['joined', true], JSON.stringify(r));
  }
  assert.equal((await listed(ann)).direct, true);
  assertOnlyEncrypted(room, 2);
});

test('a group of three: everyone reads everyone', { skip }, async () => {
  const [ann, ben, cat] = await Promise.all([
    peer('grp-ann'), peer('grp-ben', { autoJoin: true }), peer('grp-cat', { autoJoin: true }),
  ]);
  const { room } = await ann.call('dm', { users: [ben.id, cat.id], name: 'three' });
  await Promise.all([ben, cat].map((p) => p.waitFor((e) => e.event === 'auto_join' && e.room === room && e.ok)));
  // Both joins must reach ann's member list before she shares her room key.
  await Promise.all([ben, cat].map((p) => ann.waitFor((e) => e.event === 'member' && e.room === room
    && e.user === p.id && e.membership === 'join')));
  for (const p of [ann, ben, cat]) await p.call('send', { room, body: `from ${p.id}` });
  for (const to of [ann, ben, cat]) {
    for (const from of [ann, ben, cat]) if (to !== from) await received(to, from, room, `from ${from.id}`);
  }
  assertOnlyEncrypted(room, 3);
});

test('notes to oneself: a direct, encrypted room with nobody else', { skip }, async () => {
  const ann = await peer('note-ann');
  const { room } = await ann.call('dm', { users: [] });
  await ann.call('send', { room, body: 'remember the milk' });
  const echo = await ann.waitFor(msg(room, 'remember the milk'));
  assert.deepEqual([echo.own, echo.encrypted], [true, true]);
  await ann.call('wait_sync');
  const r = (await ann.call('rooms')).rooms.find((x) => x.room === room);
  assert.deepEqual([r.encrypted, r.direct, r.members.length], [true, true, 1], JSON.stringify(r));
  assertOnlyEncrypted(room, 1);
});

test('undecryptable messages are reported, not dropped', { skip }, async (t) => {
  const ann = await peer('utd-ann');
  const ben = await peer('utd-ben', { autoJoin: true });
  const { room } = await ann.call('dm', { users: [ben.id] });
  await ann.waitFor((e) => e.event === 'member' && e.room === room && e.user === ben.id && e.membership === 'join');
  const early = await ann.call('send', { room, body: 'before the new device' });
  await received(ben, ann, room, 'before the new device');

  await t.test('a device that logs in later cannot read earlier messages: utd', async () => {
    const ben2 = await peer('utd-ben', { login: PASSWORD, deviceId: 'BEN2' });
    const utd = await ben2.waitFor((e) => e.event === 'utd' && e.event_id === early.event_id);
    assert.equal(utd.sender, ann.id);
    assert.ok(utd.session_id, JSON.stringify(utd));
    assert.ok(!ben2.events.some(msg(room, 'before the new device')));
    // ann learns of the new device (device-list change) and shares her key.
    await waitForDevice(ann, ben2.id, 'BEN2');
    await ann.call('send', { room, body: 'after the new device' });
    await received(ben2, ann, room, 'after the new device');
  });

  await t.test('a device whose keys were unknown when the message was sent: utd', async () => {
    // dan's device exists (a plain login) but has uploaded no keys yet.
    const dan = 'utd-dan';
    const reg = await ok200(synapse.base, 'POST', '/_matrix/client/v3/register', {
      body: { username: dan, password: PASSWORD, device_id: 'LATE', auth: { type: 'm.login.dummy' } },
    });
    const { room: r2 } = await ann.call('dm', { users: [reg.user_id] });
    await ok200(synapse.base, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(r2)}`, { token: reg.access_token, body: {} });
    await ann.waitFor((e) => e.event === 'member' && e.room === r2 && e.user === reg.user_id && e.membership === 'join');
    const blind = await ann.call('send', { room: r2, body: 'nobody has keys for LATE' });
    const late = await peer(dan, { login: PASSWORD, deviceId: 'LATE' });
    const utd = await late.waitFor((e) => e.event === 'utd' && e.event_id === blind.event_id);
    assert.equal(utd.sender, ann.id);
    await waitForDevice(ann, late.id, 'LATE');
    await ann.call('send', { room: r2, body: 'now LATE has keys' });
    await received(late, ann, r2, 'now LATE has keys');
    assertOnlyEncrypted(r2, 2);
  });
});

test('a restarted peer keeps its device and keys; leaving is seen', { skip }, async () => {
  const ann = await peer('rst-ann');
  const ben = await peer('rst-ben', { autoJoin: true });
  const { room } = await ann.call('dm', { users: [ben.id] });
  await ann.waitFor((e) => e.event === 'member' && e.room === room && e.user === ben.id && e.membership === 'join');
  await ann.call('send', { room, body: 'before the restart' });
  await received(ben, ann, room, 'before the restart');
  await ben.stop({ keepDir: true });
  const again = await startPeer({ bin: BIN, name: 'rst-ben2', dir: ben.dir });
  peers.push(again);
  const back = await again.call('restore', { homeserver: synapse.base });
  assert.deepEqual([back.user_id, back.device_id], [ben.id, ben.device]);
  again.id = back.user_id;
  await ann.call('send', { room, body: 'after the restart' });
  await received(again, ann, room, 'after the restart');
  // The sync carried on from the stored token: nothing replayed, no utd.
  assert.ok(!again.events.some((e) => e.event === 'utd' || e.body === 'before the restart'));
  await again.call('leave', { room });
  await ann.waitFor((e) => e.event === 'member' && e.room === room && e.user === ben.id && e.membership === 'leave');
  await assert.rejects(again.call('send', { room, body: 'gone' }), /not joined/);
  await again.stop();
  rmSync(ben.dir, { recursive: true, force: true });
});

test('block: the ignore list hides the blocked person\'s new invites', { skip }, async () => {
  const [ann, ben] = await Promise.all([peer('blk-ann'), peer('blk-ben')]);
  await ben.call('block', { user: ann.id });
  const { room } = await ann.call('dm', { users: [ben.id] });
  // Two syncs: the second began after the invite was made.
  await ben.call('wait_sync');
  await ben.call('wait_sync');
  assert.ok(!ben.events.some((e) => e.event === 'invite' && e.room === room), 'invite from a blocked user shown');
  await ben.call('unblock', { user: ann.id });
  const { room: again } = await ann.call('dm', { users: [ben.id] });
  await ben.waitFor((e) => e.event === 'invite' && e.room === again);
});

test('bad commands get ok:false with a reason', { skip }, async () => {
  const p = await startPeer({ bin: BIN, name: 'bad' });
  peers.push(p);
  await assert.rejects(p.call('fly'), /unknown variant `fly`/);
  await assert.rejects(p.call('send', { room: '!r:localhost' }), /missing field `body`/);
  await assert.rejects(p.call('rooms'), /not logged in/);
  await assert.rejects(p.call('login', { homeserver: synapse.base, user: 'nobody', password: 'x' }), /login/);
  await p.call('register', { homeserver: synapse.base, user: 'bad-user', password: PASSWORD });
  await assert.rejects(p.call('send', { room: 'not-a-room', body: 'x' }), /bad room id/);
  await assert.rejects(p.call('join', { room: '!nowhere:localhost' }), /join/);
});
