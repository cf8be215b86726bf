// Private messages with other Matrix clients, and when things go wrong: a
// native matrix-sdk client with encryption (tests/matrix-peer, standing in for
// Element) talks with the chat both ways; hostile formatted bodies and names
// from other clients stay inert; a message that cannot be decrypted says so;
// the other side leaving; the homeserver pausing mid-send; the browser's
// storage cleared. Real Synapse, relay and Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, sleep } from './matrix.mjs';
import { startPeer, waitForDevice } from './matrix-peer.mjs';
import { startChatStack, part, waitForLines, say, shot } from './chat-harness.mjs';
import { PASSWORD, member, storedTypes, openConversation, acceptInvite } from './private-harness.mjs';

const PEER = process.env.CHYRON_MATRIX_PEER_BIN;
const skip = !PEER && !process.env.CI ? 'CHYRON_MATRIX_PEER_BIN is not set' : false;

let stack;
let ann;
let elm;
let dm;

before(async () => {
  if (skip) return;
  stack = await startChatStack({ config: ['public_channels = ["demo"]'] });
  ann = await member(stack, 'ann');
  elm = await startPeer({ bin: PEER, name: 'elm' });
  await elm.call('register', { homeserver: stack.synapse.base, user: 'elm', password: PASSWORD });
});

after(async () => {
  await elm?.stop();
  await stack?.stop();
});

const HOSTILE = '<b>hello</b> from <i>Element</i> <img src="https://example.invalid/x.png" onerror="window.__pwned=1">'
  + '<script>window.__pwned=2</script><a href="javascript:window.__pwned=3">click</a>'
  + '<div style="position:fixed;inset:0">cover</div>';

test('another Matrix client and the chat talk privately both ways; its formatting passes the chat\'s allow-list', { skip }, async () => {
  ({ room: dm } = await elm.call('dm', { users: [ann.id] }));
  await elm.call('send', { room: dm, body: 'hello from Element', formatted_body: HOSTILE });
  await acceptInvite(ann.page);
  const lines = await waitForLines(ann.page, (l) => l.some((x) => x.body?.includes('hello from Element')), 'the peer\'s message', 30000);
  const html = lines.find((x) => x.body.includes('hello from Element')).html;
  assert.match(html, /<b>hello<\/b>/);
  assert.doesNotMatch(html, /<img|<script|onerror|javascript:|style=/i, html);
  assert.equal(await ann.page.evaluate(() => window.__pwned), undefined, 'nothing ran');
  await ann.page.locator('chyron-chat [part~="chat-body"] a', { hasText: 'click' }).count()
    .then((n) => assert.ok(n <= 1));
  await say(ann.page, 'hi Element, **from the chat**');
  const got = await elm.waitFor((e) => e.event === 'message' && e.room === dm && e.body === 'hi Element, from the chat', 30000);
  assert.equal(got.encrypted, true);
  assert.match(got.formatted_body, /<strong>from the chat<\/strong>/);
  const types = storedTypes(stack, dm);
  assert.ok(!types.includes('m.room.message'), `only ciphertext stored: ${types}`);
  await shot(ann.page, 'private-interop');
});

test('a message this device cannot decrypt says so, and does not vanish', { skip }, async () => {
  // Another client sends an encrypted event whose keys never reach this
  // device (a made-up session): the line says "unable to decrypt".
  const alice = stack.synapse.seeded.users.alice;
  const made = await call(stack.synapse.base, 'POST', '/_matrix/client/v3/createRoom', {
    token: alice.access_token,
    body: {
      preset: 'trusted_private_chat', is_direct: true, invite: [ann.id],
      name: '\u202Eevil\u200B name',
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    },
  });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const room = made.body.room_id;
  await call(stack.synapse.base, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/displayname`, {
    token: alice.access_token, body: { displayname: 'Al\u202Eice\u200B' },
  });
  await acceptInvite(ann.page);
  const sent = await call(stack.synapse.base, 'PUT',
    `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/utd-${Date.now()}`, {
      token: alice.access_token,
      body: {
        algorithm: 'm.megolm.v1.aes-sha2', sender_key: 'c2VuZGVya2V5c2VuZGVya2V5c2VuZGVya2V5c2VuZGVy',
        device_id: 'NOPE', session_id: 'bm8tc3VjaC1zZXNzaW9u', ciphertext: 'AwgAEnAAbm90IHJlYWwgY2lwaGVydGV4dA',
      },
    });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const lines = await waitForLines(ann.page, (l) => l.some((x) => /Unable to decrypt/.test(x.body ?? '')), 'the undecryptable line', 30000);
  const line = lines.find((x) => /Unable to decrypt/.test(x.body));
  assert.equal(line.sender, 'Alice', 'the sender\'s name without its bidi and zero-width characters');
  const head = await part(ann.page, 'chat-conversation-head').innerText();
  assert.doesNotMatch(head, /[\u202A-\u202E\u200B-\u200F]/);
  await shot(ann.page, 'private-utd');
});

test('the other side leaves: the conversation says so', { skip }, async () => {
  await elm.call('leave', { room: dm });
  await openConversation(ann.page, 'elm');
  await part(ann.page, 'chat-alone').waitFor({ timeout: 30000 });
  assert.match(await part(ann.page, 'chat-alone').innerText(), /Everyone else left/);
});

test('the homeserver pauses while a private message is sent: it waits, then arrives once', { skip }, async () => {
  const { room } = await elm.call('dm', { users: [ann.id] });
  await acceptInvite(ann.page);
  await elm.waitFor((e) => e.event === 'member' && e.room === room && e.user === ann.id && e.membership === 'join', 30000);
  process.kill(stack.synapse.pid, 'SIGSTOP');
  try {
    await say(ann.page, 'sent while the server sleeps');
    await waitForLines(ann.page, (l) => l.some((x) => x.body === 'sent while the server sleeps' && x.pending), 'the pending line');
    await sleep(1500);
  } finally {
    process.kill(stack.synapse.pid, 'SIGCONT');
  }
  await elm.waitFor((e) => e.event === 'message' && e.room === room && e.body === 'sent while the server sleeps', 60000);
  await elm.call('wait_sync');
  await elm.call('wait_sync');
  const copies = elm.events.filter((e) => e.event === 'message' && e.room === room && e.body === 'sent while the server sleeps');
  assert.equal(copies.length, 1, 'delivered once');
  const lines = await waitForLines(ann.page, (l) => l.some((x) => x.body === 'sent while the server sleeps' && !x.pending), 'confirmed', 30000);
  assert.equal(lines.filter((x) => x.body === 'sent while the server sleeps').length, 1);
});

test('the browser\'s storage is cleared: signed out cleanly; signing in again is a new device, old messages say they cannot be decrypted', { skip }, async () => {
  const before = (await elm.call('devices', { user: ann.id })).devices.map((d) => d.device_id);
  await ann.page.evaluate(async () => {
    localStorage.clear();
    const dbs = await indexedDB.databases();
    await Promise.all(dbs.map((d) => new Promise((ok) => {
      const r = indexedDB.deleteDatabase(d.name);
      r.onsuccess = r.onerror = r.onblocked = () => ok();
    })));
  });
  await ann.page.reload();
  await part(ann.page, 'chat-open').click({ timeout: 20000 });
  await part(ann.page, 'chat-name').waitFor({ timeout: 20000 });
  await ann.page.locator('chyron-chat button', { hasText: 'Sign in' }).click();
  await ann.page.locator('chyron-chat #chyron-user').fill('ann');
  await ann.page.locator('chyron-chat #chyron-password').fill(PASSWORD);
  await ann.page.locator('chyron-chat button[type="submit"]', { hasText: 'Sign in' }).click();
  await part(ann.page, 'chat-input').waitFor({ timeout: 30000 });
  await openConversation(ann.page, 'elm');
  const lines = await waitForLines(ann.page, (l) => l.some((x) => /Unable to decrypt/.test(x.body ?? '')), 'old lines as undecryptable', 30000);
  assert.ok(!lines.some((x) => x.body === 'sent while the server sleeps'), 'the old device\'s keys are gone');
  // New messages reach the new device.
  const { room } = await elm.call('dm', { users: [ann.id] });
  await acceptInvite(ann.page);
  // The sender shares its room key only with devices it knows of.
  await waitForDevice(elm, ann.id, (list) => list.some((d) => !before.includes(d.device_id)));
  await elm.call('send', { room, body: 'welcome back' });
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'welcome back'), 'a message to the new device', 30000);
});
