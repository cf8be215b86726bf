// Private messages, end to end: a real Synapse, the real relay and chat
// module in Chromium, viewers with accounts in separate browser contexts.
// What the homeserver stores is checked in Synapse's own database: a private
// conversation holds only encrypted messages. Screenshots: out/chat-private-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { call, sleep } from './matrix.mjs';
import { api } from './harness.mjs';
import {
  startChatStack, viewer as newViewer, part, waitForLines, openChat, joinAsGuest, say, shot,
} from './chat-harness.mjs';
import {
  PASSWORD, member as newMember, storedTypes as stored, shownRoom, notice, acceptInvite, openConversation,
} from './private-harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let stack;

before(async () => {
  stack = await startChatStack({ config: ['public_channels = ["demo"]'] });
});

after(async () => {
  await stack?.stop();
});

const member = (user) => newMember(stack, user);
const storedTypes = (roomId) => stored(stack, roomId);

let ann;
let ben;
let dm;

test('two accounts talk privately from a public line: encrypted on the homeserver, readable in both chats', async () => {
  ann = await member('ann');
  ben = await member('ben');
  await say(ben.page, 'anyone here from Berlin?');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'anyone here from Berlin?'), 'ben\'s public line');
  const line = ann.page.locator('chyron-chat [part~="chat-line"]', { hasText: 'anyone here from Berlin?' });
  await line.locator('[part~="chat-message"]').click();
  await part(ann.page, 'chat-conversation-head').waitFor({ timeout: 30000 });
  assert.match(await part(ann.page, 'chat-encrypted').innerText(), /End-to-end encrypted/);
  await say(ann.page, 'yes, **me**!');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'yes, me!' && !x.pending), 'ann\'s private line, confirmed');
  dm = await shownRoom(ann.page);
  assert.match(dm, /^!/);

  // Ben: the Private tab counts the invite; accepting shows Ann's line.
  await ben.page.waitForFunction(() => /Private\s*1/.test(
    document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="chat-private-tab"]')?.textContent ?? ''), null, { timeout: 30000 });
  await part(ben.page, 'chat-private-tab').click();
  await shot(ben.page, 'private-invite');
  await ben.page.locator('chyron-chat [part~="chat-invite"] button', { hasText: 'Accept' }).click();
  const got = await waitForLines(ben.page, (l) => l.some((x) => x.body === 'yes, me!'), 'ann\'s private line at ben', 30000);
  assert.match(got.find((x) => x.body === 'yes, me!').html, /<strong>me<\/strong>/);
  await say(ben.page, 'great, see you at the bar');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'great, see you at the bar'), 'ben\'s answer at ann', 30000);
  await shot(ann.page, 'private-conversation');

  // The homeserver holds ciphertext only.
  const types = storedTypes(dm);
  assert.ok(types.includes('m.room.encrypted'), `encrypted events stored: ${types}`);
  assert.ok(!types.includes('m.room.message'), `no clear messages stored: ${types}`);
});

test('a reload keeps the device and its keys: the conversation is still readable', async () => {
  await ann.page.reload();
  await openChat(ann.page).catch(() => {});
  await part(ann.page, 'chat-private-tab').click({ timeout: 30000 });
  await ann.page.locator('chyron-chat [part~="chat-conversation"]').first().click({ timeout: 30000 });
  const lines = await waitForLines(ann.page, (l) => l.some((x) => x.body === 'great, see you at the bar'), 'the old lines, decrypted', 30000);
  assert.ok(!lines.some((x) => /Unable to decrypt/.test(x.body)), JSON.stringify(lines));
});

test('notes to self: one encrypted room with only the viewer, marked as a direct chat', async () => {
  await part(ann.page, 'chat-private-tab').click();
  await part(ann.page, 'chat-notes').click();
  await part(ann.page, 'chat-conversation-head').waitFor({ timeout: 30000 });
  await say(ann.page, 'remember: slides at 3pm');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'remember: slides at 3pm' && !x.pending), 'the note', 30000);
  const notes = await shownRoom(ann.page);
  assert.ok(storedTypes(notes).includes('m.room.encrypted'));
  assert.ok(!storedTypes(notes).includes('m.room.message'));
  // m.direct in ann's account names the room under her own id.
  const login = await call(stack.synapse.base, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'ann' }, password: PASSWORD },
  });
  const direct = await call(stack.synapse.base, 'GET',
    `/_matrix/client/v3/user/${encodeURIComponent(ann.id)}/account_data/m.direct`, { token: login.body.access_token });
  assert.deepEqual(direct.body[ann.id], [notes]);
  await part(ann.page, 'chat-private-tab').click();
  assert.match(await part(ann.page, 'chat-private').innerText(), /Notes \(only you\)/);
});

test('a group of three', async () => {
  const cy = await member('cy');
  await part(ann.page, 'chat-private-tab').click();
  await part(ann.page, 'chat-new-people').fill(`${ben.id}, ${cy.id}`);
  await part(ann.page, 'chat-new-start').click();
  await part(ann.page, 'chat-conversation-head').waitFor({ timeout: 30000 });
  await say(ann.page, 'group plan: meet at the stage');
  for (const v of [ben, cy]) {
    await part(v.page, 'chat-private-tab').click({ timeout: 30000 });
    await v.page.locator('chyron-chat [part~="chat-invite"] button', { hasText: 'Accept' }).click({ timeout: 30000 });
    await waitForLines(v.page, (l) => l.some((x) => x.body === 'group plan: meet at the stage'), 'the group line', 30000);
  }
  await say(cy.page, 'cy here');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'cy here'), 'cy at ann', 30000);
  await waitForLines(ben.page, (l) => l.some((x) => x.body === 'cy here'), 'cy at ben', 30000);
  assert.match(await part(ann.page, 'chat-conversation-head').innerText(), /ben and cy|cy and ben/);
  await cy.context.close();
});

test('block: the blocked person\'s new messages and invites never reach the screen; unblock brings them back', async () => {
  await part(ben.page, 'chat-private-tab').click();
  await ben.page.locator('chyron-chat [part~="chat-conversation"]', { hasText: 'ann' }).filter({ hasNotText: ' and ' }).click();
  await part(ben.page, 'chat-block').click();
  await notice(ben.page, /is blocked/);
  assert.match(await part(ben.page, 'chat-conversation-head').innerText(), /You blocked them/);
  assert.equal(await part(ben.page, 'chat-input').count(), 0, 'no composer for a blocked conversation');
  await part(ann.page, 'chat-private-tab').click();
  await ann.page.locator('chyron-chat [part~="chat-conversation"]', { hasText: 'ben' }).filter({ hasNotText: ' and ' }).click();
  await say(ann.page, 'are you ignoring me?');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'are you ignoring me?' && !x.pending), 'sent', 30000);
  await sleep(3000);
  const lines = await waitForLines(ben.page, () => true, 'anything');
  assert.ok(!lines.some((x) => x.body === 'are you ignoring me?'), 'the blocked line is not shown');
  // A new conversation from the blocked person: the invite never shows.
  await part(ann.page, 'chat-private-tab').click();
  await part(ann.page, 'chat-new-people').fill(ben.id);
  await part(ann.page, 'chat-new-start').click();
  await part(ann.page, 'chat-conversation-head').waitFor({ timeout: 30000 });
  await sleep(4000);
  await part(ben.page, 'chat-private-tab').click();
  assert.equal(await ben.page.locator('chyron-chat [part~="chat-invite"]').count(), 0, 'no invite from a blocked person');
  await ann.page.locator('chyron-chat [part~="chat-conversation-head"] button', { hasText: 'Leave' }).click();
  await part(ann.page, 'chat-private').waitFor({ timeout: 20000 });
  await shot(ben.page, 'private-blocked');
  await ben.page.locator('chyron-chat [part~="chat-conversation"]', { hasText: 'ann' }).filter({ hasNotText: ' and ' }).click();
  await part(ben.page, 'chat-block').click();
  await notice(ben.page, /unblocked/);
  await part(ben.page, 'chat-input').waitFor();
});

test('a DJ who is live gets no private messages: new conversations refused, messages held until the show ends', async () => {
  // The page has the channel list in its HTTP cache from just before the DJ
  // went live (the relay lets browsers keep it 5 s): the chat must ask anyway.
  await ann.page.evaluate((url) => fetch(`${url}/chat/channels`).then((r) => r.text()), stack.relay.url);
  const live = await api(stack.relay, 'PUT', '/api/v1/channels/demo/live', { user_id: ben.id, live: true, name: 'DJ Ben' });
  assert.equal(live.status, 200, JSON.stringify(live.body));
  // A new conversation with the DJ is refused, with the reason.
  await part(ann.page, 'chat-private-tab').click();
  await part(ann.page, 'chat-new-people').fill(ben.id);
  await part(ann.page, 'chat-new-start').click();
  await notice(ann.page, /DJ Ben is live; message them after the show/);
  // In the existing conversation, a message waits, and says why.
  await ann.page.locator('chyron-chat [part~="chat-conversation"]', { hasText: 'ben' }).filter({ hasNotText: ' and ' }).click();
  await say(ann.page, 'loved that track, what was it?');
  await part(ann.page, 'chat-held').waitFor({ timeout: 20000 });
  assert.match(await part(ann.page, 'chat-held').innerText(), /DJ Ben is live; your message goes out after the show/);
  await shot(ann.page, 'private-held');
  await sleep(3000);
  assert.ok(!(await waitForLines(ben.page, () => true, 'anything')).some((x) => x.body === 'loved that track, what was it?'),
    'not delivered while live');
  // The show ends: the message goes out by itself, once.
  const off = await api(stack.relay, 'PUT', '/api/v1/channels/demo/live', { user_id: ben.id, live: false });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  const got = await waitForLines(ben.page, (l) => l.some((x) => x.body === 'loved that track, what was it?'), 'the held line, after the show', 40000);
  assert.equal(got.filter((x) => x.body === 'loved that track, what was it?').length, 1);
  const mine = await waitForLines(ann.page, (l) => l.some((x) => x.body === 'loved that track, what was it?' && !x.pending), 'confirmed at ann', 20000);
  assert.equal(mine.filter((x) => x.body === 'loved that track, what was it?').length, 1, 'shown once');
});

test('a guest who wants to message privately keeps their name first, then the conversation starts', async () => {
  const guest = await newViewer(stack);
  await openChat(guest.page);
  await joinAsGuest(guest.page, 'Gus', { rules: false });
  await ann.page.locator('chyron-chat [part~="chat-channel"]', { hasText: 'demo' }).click();
  await say(ann.page, 'public hello from ann');
  const line = guest.page.locator('chyron-chat [part~="chat-line"]', { hasText: 'public hello from ann' });
  await line.waitFor({ timeout: 20000 });
  await line.locator('[part~="chat-message"]').click();
  await notice(guest.page, /keep your name/i);
  await guest.page.locator('chyron-chat #chyron-new-password').fill(PASSWORD);
  await guest.page.locator('chyron-chat button', { hasText: 'Keep my name' }).click();
  await part(guest.page, 'chat-conversation-head').waitFor({ timeout: 30000 });
  await say(guest.page, 'hi ann, gus here');
  await part(ann.page, 'chat-private-tab').click();
  await ann.page.locator('chyron-chat [part~="chat-invite"] button', { hasText: 'Accept' }).click({ timeout: 30000 });
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'hi ann, gus here'), 'the former guest\'s message', 30000);
  await guest.context.close();
});

test('while captions show, the Chat button counts private messages waiting; the private views pass axe-core, by keyboard', async () => {
  const audit = async (page, when) => {
    await page.evaluate(AXE);
    const result = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((x) => ({ id: x.id, impact: x.impact, nodes: x.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
    });
    assert.deepEqual(result, [], `axe violations ${when}: ${JSON.stringify(result, null, 1)}`);
  };
  await part(ann.page, 'chat-close').click();
  await part(ann.page, 'chat-open').waitFor();
  await openConversation(ben.page, 'ann');
  await say(ben.page, 'are you still at the stage?');
  await ann.page.waitForFunction(() => document.querySelector('chyron-chat').shadowRoot
    .querySelector('[part~="chat-open"]')?.getAttribute('data-unread') === '1', null, { timeout: 30000 });
  assert.match(await part(ann.page, 'chat-open').getAttribute('aria-label'), /1 new private/);
  await shot(ann.page, 'private-badge');
  // Keyboard: Chat, then Tab to the Private tab and Enter.
  await part(ann.page, 'chat-open').focus();
  await ann.page.keyboard.press('Enter');
  await part(ann.page, 'chat').waitFor();
  await part(ann.page, 'chat-private-tab').focus();
  await ann.page.keyboard.press('Enter');
  await part(ann.page, 'chat-private').waitFor();
  await audit(ann.page, 'in the private list');
  await ann.page.locator('chyron-chat [part~="chat-conversation"]', { hasText: 'ben' }).filter({ hasNotText: ' and ' }).focus();
  await ann.page.keyboard.press('Enter');
  await part(ann.page, 'chat-conversation-head').waitFor();
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'are you still at the stage?'), 'the waiting message');
  await audit(ann.page, 'in a conversation');
  // Read now: the count goes.
  await ann.page.waitForFunction(() => !document.querySelector('chyron-chat').shadowRoot
    .querySelector('[part~="chat-open"]')?.hasAttribute('data-unread'), null, { timeout: 10000 });
});

test('a guest can receive a private conversation and answer it', async () => {
  const hal = await newViewer(stack);
  await openChat(hal.page);
  await joinAsGuest(hal.page, 'Hal', { rules: false });
  await say(hal.page, 'hal says hi');
  await ann.page.locator('chyron-chat [part~="chat-channel"]', { hasText: 'demo' }).click();
  const line = ann.page.locator('chyron-chat [part~="chat-line"]', { hasText: 'hal says hi' });
  await line.waitFor({ timeout: 20000 });
  await line.locator('[part~="chat-message"]').click();
  await part(ann.page, 'chat-conversation-head').waitFor({ timeout: 30000 });
  await say(ann.page, 'welcome, Hal');
  await acceptInvite(hal.page);
  await waitForLines(hal.page, (l) => l.some((x) => x.body === 'welcome, Hal'), 'ann\'s message at the guest', 30000);
  await say(hal.page, 'thanks!');
  await waitForLines(ann.page, (l) => l.some((x) => x.body === 'thanks!'), 'the guest\'s answer', 30000);
  await hal.context.close();
});
