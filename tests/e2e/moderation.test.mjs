// Moderation in the full chat, end to end: a real Synapse, the real relay
// (alice configured as the owner of #demo, a moderation clock of 150 ms per
// second), the chat module in Chromium. The owner appoints bob with the
// "Appoint moderator" form; bob times a signed-in viewer out with /timeout;
// the viewer sees why with a countdown and can post neither in the chat nor
// through her own Matrix client (the bot lowered her power level: Synapse
// refuses), still after a relay restart; bob lifts it early from the line's
// menu and both work again; a second, 2-minute timeout ends by itself and the
// viewer posts again, in the chat and from her Matrix client, without anyone
// acting; bob marks alice's image NSFW and
// it blurs in the viewer's chat until they choose to see it. Screenshots:
// tests/e2e/out/chat-mod-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './matrix.mjs';
import {
  startChatStack, viewer as newViewer, part, waitForLines, openChat, say, shot, signedIn as signIn,
} from './chat-harness.mjs';

let stack;
let synapse;

before(async () => {
  stack = await startChatStack({
    // One moderation second lasts 150 ms: a 2-minute timeout ends in 18 s.
    config: ['public_channels = ["demo"]', 'moderation_second_ms = 150', '[channels.demo]', 'owners = ["@alice:localhost"]'],
  });
  synapse = stack.synapse;
  // The organiser gives the relay's bot power 100 in #demo (changing power
  // levels needs it there), so timeouts and bans hold in Matrix too.
  const { alice, bot } = synapse.seeded.users;
  const room = encodeURIComponent(synapse.seeded.room_id);
  const levels = await call(synapse.base, 'GET', `/_matrix/client/v3/rooms/${room}/state/m.room.power_levels/`, { token: alice.access_token });
  assert.equal(levels.status, 200, JSON.stringify(levels.body));
  levels.body.users = { ...levels.body.users, [bot.user_id]: 100 };
  const put = await call(synapse.base, 'PUT', `/_matrix/client/v3/rooms/${room}/state/m.room.power_levels/`, { token: alice.access_token, body: levels.body });
  assert.equal(put.status, 200, JSON.stringify(put.body));
});

/** Logs `user` in to Synapse with `password`, as their own Matrix client would; its token. */
async function matrixLogin(user, password) {
  const r = await call(synapse.base, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

/** Sends a line to #demo with `token` straight to Synapse; the HTTP status. */
async function matrixSend(token, body) {
  const room = encodeURIComponent(synapse.seeded.room_id);
  const txn = `t${Date.now()}${Math.random()}`;
  const r = await call(synapse.base, 'PUT', `/_matrix/client/v3/rooms/${room}/send/m.room.message/${txn}`, {
    token, body: { msgtype: 'm.text', body },
  });
  return r.status;
}

after(async () => {
  await stack?.stop();
});

/** A viewer signed in with a password (an account: it can get an OpenID token). */
const signedIn = (user, password) => signIn(stack, user, password);

/** Waits until the chat's notice matches `re`. */
async function notice(page, re) {
  await page.waitForFunction(
    (src) => new RegExp(src).test(document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="chat-notice"]')?.textContent ?? ''),
    re.source, { timeout: 20000 },
  ).catch(async () => assert.fail(`notice ${JSON.stringify(await part(page, 'chat-notice').textContent())} never matched ${re}`));
}

/** Posts a small PNG to #demo as `user` (an m.image, through Synapse). */
async function postImage(user) {
  // 1×1 red PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
  const up = await fetch(`${synapse.base}/_matrix/media/v3/upload?filename=red.png`, {
    method: 'POST', headers: { Authorization: `Bearer ${user.access_token}`, 'Content-Type': 'image/png' }, body: png,
  }).then((r) => r.json());
  assert.ok(up.content_uri, JSON.stringify(up));
  const r = await call(synapse.base, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(synapse.seeded.room_id)}/send/m.room.message/img${Date.now()}`, {
    token: user.access_token,
    body: { msgtype: 'm.image', body: 'red.png', url: up.content_uri, info: { mimetype: 'image/png', w: 1, h: 1, size: png.length } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('owner appoints, moderator times out and lifts, the viewer sees why and posts again; an NSFW mark blurs', async () => {
  const { alice, bob } = synapse.seeded.users;
  const owner = await signedIn('alice', alice.password);
  // The owner's form: this event, until two hours from now (local time).
  await part(owner.page, 'chat-moderators').click({ timeout: 20000 });
  const until = await owner.page.evaluate(() => {
    const t = new Date(Date.now() + 2 * 3600e3);
    return `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  });
  await part(owner.page, 'chat-appoint-user').fill(bob.user_id);
  await part(owner.page, 'chat-appoint-until').fill(until);
  await shot(owner.page, 'mod-appoint');
  await part(owner.page, 'chat-appoint-button').click();
  await notice(owner.page, /moderates this event/);

  const carol = await newViewer(stack);
  const name = `carol${process.pid}`;
  await openChat(carol.page);
  await carol.page.locator('chyron-chat button', { hasText: 'Create an account' }).click();
  await carol.page.locator('chyron-chat #chyron-new-user').fill(name);
  await carol.page.locator('chyron-chat #chyron-new-password').fill('carols-password');
  await carol.page.locator('chyron-chat button', { hasText: 'Create account' }).click();
  await part(carol.page, 'chat-input').waitFor({ timeout: 20000 });
  await say(carol.page, 'hello from carol');
  await waitForLines(carol.page, (l) => l.some((x) => x.body === 'hello from carol' && !x.pending), 'her post');

  const mod = await signedIn('bob', bob.password);
  await waitForLines(mod.page, (l) => l.some((x) => x.body === 'hello from carol'), "carol's line");
  // A viewer has no menu; bob, a moderator, gets one on others' lines.
  assert.equal(await part(carol.page, 'chat-moderate').count(), 0, 'no menu for viewers');
  const menuButton = mod.page.locator(`chyron-chat [part~="chat-moderate"][aria-label="Moderate ${name}'s message"]`).first();
  await menuButton.waitFor({ timeout: 20000 });
  // Keyboard: the menu opens, Escape closes it, the focus returns.
  await menuButton.focus();
  await mod.page.keyboard.press('Enter');
  await part(mod.page, 'chat-menu').waitFor();
  assert.equal(await menuButton.getAttribute('aria-haspopup'), 'menu');
  // Karma beside the name, the suggested length (2 min at karma 0) preselected.
  await mod.page.locator('chyron-chat [part~="chat-menu"] .menu-head', { hasText: 'karma 0' }).waitFor({ timeout: 10000 });
  assert.match(await mod.page.locator('chyron-chat [part~="chat-timeout"][data-suggested]').innerText(), /Time out 2 min \(suggested\)/);
  await shot(mod.page, 'mod-menu');
  await mod.page.keyboard.press('Escape');
  await part(mod.page, 'chat-menu').waitFor({ state: 'detached' });
  assert.equal(await mod.page.evaluate(() => document.querySelector('chyron-chat').shadowRoot.activeElement?.getAttribute('part')), 'chat-moderate');

  // Unknown commands and bad lengths are refused, never posted.
  await say(mod.page, '/timeout @nobody-here 5m');
  await notice(mod.page, /Nobody called/);
  await say(mod.page, `/timeout @${name} 30s`);
  await notice(mod.page, /2 to 10 minutes/);
  await say(mod.page, `/timeout @${name} 10m shouting`);
  await notice(mod.page, new RegExp(`${name} is timed out`));

  // The viewer: the banner says why, the countdown runs, the composer is off.
  const banner = part(carol.page, 'chat-timed-out');
  await banner.waitFor({ timeout: 20000 });
  assert.match(await banner.innerText(), /“shouting”[\s\S]*\d+:\d\d/);
  assert.equal(await part(carol.page, 'chat-input').isDisabled(), true, 'cannot post');
  assert.equal(await banner.locator('[role="status"]').count(), 1, 'announced once, as a status');
  assert.equal(await banner.locator('.countdown').getAttribute('aria-hidden'), 'true', 'the ticking countdown is not read');
  await shot(carol.page, 'mod-timed-out');

  // Her own Matrix client cannot post either: the homeserver refuses.
  const carolToken = await matrixLogin(name, 'carols-password');
  assert.equal(await matrixSend(carolToken, 'from my own client'), 403, 'Synapse refuses a timed-out viewer');

  // The relay restarts mid-timeout: the timeout holds (stored as its end).
  await stack.restartRelay();
  const standing = await fetch(`${stack.relay.url}/chat/v1/channels/demo/standing/${encodeURIComponent(`@${name}:localhost`)}`).then((r) => r.json());
  assert.ok(standing.timeout?.until > Date.now(), `still timed out after the restart: ${JSON.stringify(standing)}`);
  assert.equal(await matrixSend(carolToken, 'after the restart'), 403);
  assert.equal(await part(carol.page, 'chat-input').isDisabled(), true, 'still cannot post in the chat');

  // Lifted early from the line's menu: the chat and her Matrix client work again.
  await menuButton.click();
  await mod.page.locator('chyron-chat [part~="chat-menu"] button', { hasText: 'Lift timeout' }).click();
  await notice(mod.page, /timeout is lifted/);
  await banner.waitFor({ state: 'detached', timeout: 20000 });
  assert.equal(await part(carol.page, 'chat-input').isDisabled(), false);
  assert.equal(await matrixSend(carolToken, 'my own client again'), 200, 'her level is back');

  // A 2-minute timeout (18 s on this clock) ends by itself: nobody acts,
  // and both the chat and her own Matrix client work again.
  await say(mod.page, `/timeout @${name} 2m`);
  await notice(mod.page, new RegExp(`${name} is timed out`));
  assert.equal(await matrixSend(carolToken, 'during the short one'), 403);
  await banner.waitFor({ timeout: 20000 });
  assert.equal(await part(carol.page, 'chat-input').isDisabled(), true);
  await banner.waitFor({ state: 'detached', timeout: 25000 });
  assert.equal(await part(carol.page, 'chat-input').isDisabled(), false);
  await say(carol.page, 'back again');
  await waitForLines(mod.page, (l) => l.some((x) => x.body === 'back again'), 'her post after the timeout');
  // The expiry gives her level back without waiting for the bot: allow it a moment.
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = await matrixSend(carolToken, 'my own client after the short one');
    if (status !== 200) await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.equal(status, 200, 'her Matrix client posts again after the timeout ended by itself');

  // An image, then bob's NSFW mark: blurred in carol's chat until she chooses.
  await postImage(alice);
  const image = part(carol.page, 'chat-image');
  await image.waitFor({ timeout: 20000 });
  assert.equal(await image.evaluate((i) => i.classList.contains('blurred')), false);
  await mod.page.locator('chyron-chat [part~="chat-moderate"][aria-label="Moderate alice\'s message"]').last().click();
  await mod.page.locator('chyron-chat [part~="chat-mark"]', { hasText: 'Mark NSFW' }).click();
  await notice(mod.page, /Marked NSFW/);
  await carol.page.waitForFunction(() => document.querySelector('chyron-chat').shadowRoot
    .querySelector('[part~="chat-image"]')?.classList.contains('blurred'), null, { timeout: 5000 });
  await shot(carol.page, 'mod-blurred');
  await part(carol.page, 'chat-show-image').click();
  assert.equal(await image.evaluate((i) => i.classList.contains('blurred')), false, 'shown by choice');
  await shot(carol.page, 'mod-revealed');
  for (const v of [owner, carol, mod]) await v.context.close();
});
