// A public channel's tabs in the full chat, end to end (real Synapse, relay
// and Chromium): "Links & media" lists a posted link (opening in a new tab,
// rel noopener noreferrer nofollow) and an image, blurred once a moderator
// marks it NSFW; People counts change when a second viewer opens the chat;
// a moderator gets the "Here now" and "Seen" lists with the Moderate menu; an
// admin reads unnoticed (not a member of the Matrix room, not counted);
// keyboard through the tabs (arrows, Home, End); axe-core on the new panels.
// Screenshots: tests/e2e/out/chat-info-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { api, post } from './harness.mjs';
import { call, sleep } from './matrix.mjs';
import {
  startChatStack, viewer, part, openChat, shot, signedIn as signIn, postImage,
} from './chat-harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ADMIN = 'root';
let stack;
let synapse;

before(async () => {
  stack = await startChatStack({
    config: ['public_channels = ["demo"]', `admins = ["@${ADMIN}:localhost"]`,
      '[channels.demo]', 'owners = ["@alice:localhost"]'],
  });
  synapse = stack.synapse;
});

after(async () => {
  await stack?.stop();
});

/** The element of the chat's shadow root that has the focus: its part or id. */
const focused = (page) => page.evaluate(() => {
  const el = document.querySelector('chyron-chat').shadowRoot.activeElement;
  return el ? (el.id || el.getAttribute('part')) : null;
});

/** axe-core over the page (the chat's shadow root included): no violations. */
async function audit(page, when) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((x) => ({ id: x.id, impact: x.impact, nodes: x.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
  });
  assert.deepEqual(found, [], `axe violations ${when}: ${JSON.stringify(found, null, 1)}`);
}

/** The relay's links list for #demo, until `ready(items)`. */
async function linksUntil(ready, what) {
  for (let i = 0; i < 200; i++) {
    const r = await api(stack.relay, 'GET', '/chat/v1/channels/demo/links', undefined, null);
    if (r.status === 200 && ready(r.body.links)) return r.body.links;
    await sleep(100);
  }
  assert.fail(`the links list never had ${what}`);
}

/** The People panel's counts: { viewers, chatters, seen }. */
async function counts(page) {
  const text = await part(page, 'chat-people-counts').innerText();
  const m = text.match(/(\d+) watching · (\d+) in chat · (\d+) seen today/);
  assert.ok(m, `counts read ${JSON.stringify(text)}`);
  return { viewers: +m[1], chatters: +m[2], seen: +m[3] };
}

/** Whether this relay has the presence endpoint yet (helper "people"). */
async function hasPresence() {
  const r = await api(stack.relay, 'POST', '/chat/v1/channels/demo/presence', undefined, null);
  return r.status === 401;
}

test('links & media: a link opens in a new tab, an image shows, then blurs after an NSFW mark; keyboard and axe', async () => {
  await post(stack.relay, 'demo', 'Ann', 'the set list is at https://example.org/setlist tonight');
  await postImage(synapse, synapse.seeded.users.alice);
  const [image] = (await linksUntil((l) => l.some((x) => x.kind === 'image' && x.thumbnail), 'the image'))
    .filter((x) => x.kind === 'image');

  const v = await viewer(stack);
  await openChat(v.page);
  const tabs = part(v.page, 'chat-tabs');
  await tabs.waitFor({ timeout: 20000 });
  assert.equal(await tabs.getAttribute('role'), 'tablist');
  assert.deepEqual(await part(v.page, 'chat-tab').allInnerTexts(), ['Chat', 'Links & media', 'People']);
  // One tab stop: the selected tab; its panel is the log's wrapper.
  const chatTab = part(v.page, 'chat-tab-chat');
  assert.equal(await chatTab.getAttribute('aria-selected'), 'true');
  assert.equal(await part(v.page, 'chat-tab-links').getAttribute('tabindex'), '-1');
  await chatTab.focus();
  await v.page.keyboard.press('ArrowRight');
  assert.equal(await focused(v.page), 'chyron-tab-links');
  assert.equal(await part(v.page, 'chat-tab-links').getAttribute('aria-selected'), 'true');
  const panel = part(v.page, 'chat-links');
  await panel.waitFor();
  assert.equal(await panel.getAttribute('role'), 'tabpanel');
  assert.equal(await panel.getAttribute('aria-labelledby'), 'chyron-tab-links');
  assert.equal(await part(v.page, 'chat-tab-links').getAttribute('aria-controls'), await panel.getAttribute('id'));
  assert.equal(await part(v.page, 'chat-join').count(), 0, 'no footer form under the links');

  // Newest first: the image (posted last), then the link; who and when.
  const link = part(v.page, 'chat-link-url');
  await link.waitFor({ timeout: 20000 });
  assert.equal(await link.getAttribute('href'), 'https://example.org/setlist');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
  const kinds = await part(v.page, 'chat-link').evaluateAll((els) => els.map((e) => e.dataset.kind));
  assert.deepEqual(kinds.slice(0, 2), ['image', 'link']);
  assert.match(await part(v.page, 'chat-link-meta').nth(1).innerText(), /^Ann · \d\d:\d\d$/);
  const img = panel.locator('[part~="chat-image"]');
  await img.waitFor();
  assert.equal(await img.evaluate((i) => i.classList.contains('blurred')), false);
  await v.page.waitForFunction(() => document.querySelector('chyron-chat').shadowRoot
    .querySelector('[part~="chat-links"] [part~="chat-image"]')?.naturalWidth > 0, null, { timeout: 10000 });
  await shot(v.page, 'info-links');
  await audit(v.page, 'on the links tab');

  // A moderator's NSFW mark (the organiser's token here): blurred when the
  // tab is opened again (End, then ArrowLeft: People, then Links).
  const r = await api(stack.relay, 'PUT', `/chat/v1/channels/demo/moderation/marks/${encodeURIComponent(image.message_id)}`, { mark: 'nsfw' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await v.page.keyboard.press('End');
  assert.equal(await focused(v.page), 'chyron-tab-people');
  await part(v.page, 'chat-people').waitFor();
  await v.page.keyboard.press('ArrowLeft');
  await v.page.waitForFunction(() => document.querySelector('chyron-chat').shadowRoot
    .querySelector('[part~="chat-links"] [part~="chat-image"]')?.classList.contains('blurred'), null, { timeout: 10000 });
  assert.equal(await img.getAttribute('alt'), 'Hidden image');
  await shot(v.page, 'info-links-blurred');
  await panel.locator('[part~="chat-show-image"]').click();
  assert.equal(await img.evaluate((i) => i.classList.contains('blurred')), false, 'shown by choice');
  // Home goes back to the chat, whose log and composer return.
  await part(v.page, 'chat-tab-links').focus();
  await v.page.keyboard.press('Home');
  assert.equal(await focused(v.page), 'chyron-tab-chat');
  await part(v.page, 'chat-log').waitFor();
  await part(v.page, 'chat-join').waitFor();
  await v.context.close();
});

test('people: counts for everyone, a second viewer is counted; a moderator gets the lists', async () => {
  const presence = await hasPresence();
  const first = await viewer(stack);
  await openChat(first.page);
  await part(first.page, 'chat-tab-people').click();
  await part(first.page, 'chat-people-counts').filter({ hasText: 'watching' }).waitFor({ timeout: 20000 });
  const before = await counts(first.page);
  assert.ok(before.viewers >= 1, `this viewer is watching: ${JSON.stringify(before)}`);
  assert.equal(await part(first.page, 'chat-people-here').count(), 0, 'no lists for viewers');
  await audit(first.page, 'on the people tab');
  await shot(first.page, 'info-people');

  // bob, appointed by the organiser, signs in: another viewer, a chatter.
  const { bob } = synapse.seeded.users;
  const until = Date.now() + 2 * 3600e3;
  const appointed = await api(stack.relay, 'PUT', `/chat/v1/channels/demo/moderators/${encodeURIComponent(bob.user_id)}`, { scope: 'event', until });
  assert.equal(appointed.status, 200, JSON.stringify(appointed.body));
  const mod = await signIn(stack, 'bob', bob.password);
  // The panel reads again every 15 s.
  await first.page.waitForFunction((n) => {
    const t = document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="chat-people-counts"]')?.textContent ?? '';
    return +(t.match(/(\d+) watching/)?.[1] ?? 0) > n;
  }, before.viewers, { timeout: 20000 });
  if (presence) {
    await first.page.waitForFunction(() => /[1-9]\d* in chat/.test(document.querySelector('chyron-chat').shadowRoot
      .querySelector('[part~="chat-people-counts"]')?.textContent ?? ''), null, { timeout: 20000 });
  }

  await part(mod.page, 'chat-tab-people').click();
  if (presence) {
    // Here now: bob himself (no menu on oneself); seen: alice, who posted.
    const here = part(mod.page, 'chat-people-here');
    await here.locator(`[data-user="${bob.user_id}"]`).waitFor({ timeout: 20000 });
    assert.equal(await here.locator('[part~="chat-moderate"]').count(), 0);
    const alice = part(mod.page, 'chat-people-seen').locator('[data-user="@alice:localhost"]');
    await alice.waitFor({ timeout: 20000 });
    assert.match(await alice.innerText(), /posted/);
    const menu = alice.locator('[part~="chat-moderate"]');
    await menu.focus();
    await mod.page.keyboard.press('Enter');
    await mod.page.locator('chyron-chat [part~="chat-menu"] .menu-head', { hasText: 'karma' }).waitFor({ timeout: 10000 });
    assert.equal(await part(mod.page, 'chat-menu').locator('button', { hasText: 'Delete' }).count(), 0, 'no message to delete');
    await shot(mod.page, 'info-people-lists');
    await audit(mod.page, 'with the moderator lists and a menu open');
    await mod.page.keyboard.press('Escape');

    // Closing the chat takes bob's presence back.
    const inChat = async () => (await api(stack.relay, 'GET', '/chat/v1/channels/demo/people', undefined, null)).body.chatters;
    assert.ok(await inChat() >= 1);
    await part(mod.page, 'chat-close').click();
    for (let i = 0; i < 50 && await inChat() > 0; i++) await sleep(100);
    assert.equal(await inChat(), 0, 'gone once the chat closed');
  } else {
    console.log('# the relay has no presence endpoint yet: lists not checked');
    await shot(mod.page, 'info-people-mod');
  }
  for (const v of [first, mod]) await v.context.close();
});

test('an admin reads unnoticed: not in the room, not counted', async () => {
  const presence = await hasPresence();
  const v = await viewer(stack);
  await openChat(v.page);
  await v.page.locator('chyron-chat button', { hasText: 'Create an account' }).click();
  await v.page.locator('chyron-chat #chyron-new-user').fill(ADMIN);
  await v.page.locator('chyron-chat #chyron-new-password').fill('roots-password');
  await v.page.locator('chyron-chat button', { hasText: 'Create account' }).click();
  await part(v.page, 'chat-input').waitFor({ timeout: 20000 });
  // The relay's word reached the chat: an admin moderates (menus on lines).
  await part(v.page, 'chat-moderate').first().waitFor({ timeout: 20000 });
  await part(v.page, 'chat-tab-people').click();
  await part(v.page, 'chat-people-counts').filter({ hasText: 'watching' }).waitFor({ timeout: 20000 });
  await sleep(1500);
  const members = await call(synapse.base, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(synapse.seeded.room_id)}/joined_members`,
    { token: synapse.seeded.users.alice.access_token });
  assert.equal(members.status, 200);
  assert.ok(!Object.keys(members.body.joined).includes(`@${ADMIN}:localhost`), 'not a member of the room');
  const people = await api(stack.relay, 'GET', '/chat/v1/channels/demo/people', undefined, null);
  assert.equal(people.body.chatters, 0, `not counted: ${JSON.stringify(people.body)}`);
  if (presence) {
    // The lists came (an admin moderates), empty of the admin.
    await part(v.page, 'chat-people-here').waitFor({ state: 'attached', timeout: 20000 });
    assert.equal(await part(v.page, 'chat-people-here').locator(`[data-user="@${ADMIN}:localhost"]`).count(), 0, 'not listed');
  }
  await shot(v.page, 'info-admin');
  await v.context.close();
});

test('moderation tab: the owner reads the log, lifts a timeout and a ban from it, and dismisses a moderator', async () => {
  const { alice, bob } = synapse.seeded.users;
  const owner = await signIn(stack, 'alice', alice.password);
  const modTab = part(owner.page, 'chat-tab-moderation');
  await modTab.waitFor({ timeout: 20000 });
  // The organiser's token acts; the log says so.
  const target = '@mallory:localhost';
  const t = await api(stack.relay, 'POST', '/chat/v1/channels/demo/moderation/timeouts', { user_id: target, seconds: 300, reason: 'shouting' });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  const b = await api(stack.relay, 'POST', '/chat/v1/channels/demo/moderation/bans', { user_id: '@eve:localhost', reason: 'spam' });
  assert.equal(b.status, 200, JSON.stringify(b.body));
  await modTab.focus();
  await owner.page.keyboard.press('End');
  assert.equal(await focused(owner.page), 'chyron-tab-moderation');
  const panel = part(owner.page, 'chat-moderation');
  await panel.waitFor();
  const entry = (action, who) => part(owner.page, 'chat-log-entry').filter({ hasText: who }).and(owner.page.locator(`[data-action="${action}"]`));
  await entry('timeout', target).waitFor({ timeout: 20000 });
  assert.match(await entry('timeout', target).innerText(), /api timed out @mallory:localhost until \d\d:\d\d: “shouting”/);
  await entry('ban', '@eve:localhost').waitFor();
  // The moderators: bob (appointed above), dismissable by the owner.
  const bobRow = part(owner.page, 'chat-moderator').filter({ hasText: bob.user_id });
  await bobRow.waitFor({ timeout: 20000 });
  await shot(owner.page, 'info-moderation');
  await audit(owner.page, 'on the moderation tab');

  await entry('timeout', target).locator('[part~="chat-log-undo"]').click();
  await entry('timeout_lifted', target).waitFor({ timeout: 20000 });
  assert.equal(await entry('timeout', target).locator('[part~="chat-log-undo"]').count(), 0, 'lifted: no button');
  assert.equal((await api(stack.relay, 'GET', `/chat/v1/channels/demo/moderation/users/${encodeURIComponent(target)}`)).body.timeout, undefined);
  await entry('ban', '@eve:localhost').locator('[part~="chat-log-undo"]', { hasText: 'Unban' }).click();
  await entry('unban', '@eve:localhost').waitFor({ timeout: 20000 });
  assert.equal((await api(stack.relay, 'GET', '/chat/v1/channels/demo/moderation/users/%40eve%3Alocalhost')).body.banned, false);
  await bobRow.locator('[part~="chat-dismiss"]').click();
  await bobRow.waitFor({ state: 'detached', timeout: 20000 });
  await owner.context.close();
});

test("moderators' room: listed with the channels as 'Moderators: <owner>', opening the invite joins it", async () => {
  const { alice, bob } = synapse.seeded.users;
  // The room the relay's bot makes for an owner (state chat.chyron.mods),
  // made here by alice herself with bob invited.
  const made = await call(synapse.base, 'POST', '/_matrix/client/v3/createRoom', {
    token: alice.access_token,
    body: {
      preset: 'private_chat', name: `Moderators: ${alice.user_id}`, invite: [bob.user_id],
      initial_state: [{ type: 'chat.chyron.mods', state_key: '', content: { owner: alice.user_id } }],
    },
  });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const roomId = made.body.room_id;
  const mod = await signIn(stack, 'bob', bob.password);
  // (The relay's bot may have made alice's room too: this one is picked.)
  const tab = part(mod.page, 'chat-mods-room').and(mod.page.locator(`[data-room="${roomId}"]`));
  await tab.waitFor({ timeout: 30000 });
  assert.match(await tab.innerText(), /^Moderators: (alice|Alice)$/);
  await shot(mod.page, 'info-mods-room');
  await tab.click();
  await mod.page.waitForFunction((id) => document.querySelector('chyron-chat').shadowRoot
    .querySelector(`[part~="chat-mods-room"][data-room="${id}"]`)?.getAttribute('aria-current') === 'page', roomId, { timeout: 20000 });
  const joined = await call(synapse.base, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`, { token: alice.access_token });
  assert.ok(Object.keys(joined.body.joined ?? {}).includes(bob.user_id), `bob joined: ${JSON.stringify(joined.body)}`);
  await part(mod.page, 'chat-input').waitFor({ timeout: 20000 });
  await part(mod.page, 'chat-input').fill('checking in from the chat');
  await part(mod.page, 'chat-input').press('Enter');
  for (let i = 0; ; i++) {
    const r = await call(synapse.base, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=10`, { token: alice.access_token });
    if ((r.body.chunk ?? []).some((e) => e.content?.body === 'checking in from the chat')) break;
    assert.ok(i < 100, 'the message never reached the room');
    await sleep(200);
  }
  await shot(mod.page, 'info-mods-room-open');
  await mod.context.close();
});
