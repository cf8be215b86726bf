// Full chat, end to end: a real Synapse (scripts/synapse), the real relay
// bridging its #demo room, the real widget and chat module in Chromium, on a
// stream page of another origin. Two (and more) browser contexts are two
// viewers. Screenshots go to tests/e2e/out/chat-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { captionTexts, waitForCaptions } from './harness.mjs';
import { sendText, sleep } from './matrix.mjs';
import {
  startChatStack, viewer as newViewer, part, chatLines, waitForLines, openChat, joinAsGuest, say, shot,
} from './chat-harness.mjs';

const RULES = 'Be kind. No spam.';
let stack;
let synapse;

before(async () => {
  stack = await startChatStack({
    config: ['public_channels = ["demo"]', '[channels.demo]', 'title = "Main stage"', `rules = "${RULES}"`, 'rules_required = true'],
  });
  synapse = stack.synapse;
});

after(async () => {
  await stack?.stop();
});

const viewer = () => newViewer(stack);

let ada;
let bea;

test('a guest joins in one step and posts; another viewer sees the line once, in captions and in chat', async () => {
  await sendText(synapse.base, synapse.seeded.users.alice.access_token, synapse.seeded.room_id, 'welcome to the stream');
  ada = await viewer();
  bea = await viewer();
  await waitForCaptions(bea.page, (c) => c.some((l) => l.body === 'welcome to the stream'), { timeout: 20000 });
  await openChat(ada.page);
  // The same lines the captions showed, at once.
  await waitForLines(ada.page, (l) => l.some((x) => x.body === 'welcome to the stream'), 'the history');
  assert.equal(await part(ada.page, 'toggle').isVisible(), false, 'captions step aside');
  await shot(ada.page, 'join');
  await part(ada.page, 'chat-name').fill('Ada Viewer');
  await part(ada.page, 'chat-join-button').click();
  // Required rules: shown, and no composer until they are accepted.
  await part(ada.page, 'chat-rules').waitFor({ timeout: 20000 });
  assert.match(await part(ada.page, 'chat-rules').innerText(), /Be kind\. No spam\./);
  assert.equal(await part(ada.page, 'chat-input').count(), 0, 'the composer stays locked');
  await shot(ada.page, 'rules');
  await part(ada.page, 'chat-rules-accept').click();
  await part(ada.page, 'chat-input').waitFor();
  await shot(ada.page, 'composer');
  await say(ada.page, '**hello** from ada');
  assert.equal(await part(ada.page, 'chat-input').inputValue(), '', 'the composer empties');
  const lines = await waitForLines(ada.page, (l) => l.some((x) => x.body === 'hello from ada' && !x.pending), 'the confirmed post');
  assert.equal(lines.filter((x) => x.body === 'hello from ada').length, 1, 'shown once');
  assert.equal(lines.find((x) => x.body === 'hello from ada').sender, 'Ada Viewer');
  assert.match(lines.find((x) => x.body === 'hello from ada').html, /<strong>hello<\/strong> from ada/);
  await waitForCaptions(bea.page, (c) => c.some((l) => l.body === 'hello from ada'));
  await sleep(500);
  const captions = await captionTexts(bea.page);
  assert.equal(captions.filter((l) => l.body === 'hello from ada').length, 1);
  assert.equal(captions.find((l) => l.body === 'hello from ada').sender, 'Ada Viewer');
  await shot(ada.page, 'posted');
  assert.deepEqual(ada.log.pageErrors, []);
});

test('Up in an empty composer edits the last message; both viewers see the edit', async () => {
  const input = part(ada.page, 'chat-input');
  await input.focus();
  await input.press('ArrowUp');
  assert.equal(await input.inputValue(), '**hello** from ada', 'what was typed, markdown and all');
  await input.fill('_hello_ from ada, edited');
  await input.press('Enter');
  const edited = await waitForLines(ada.page, (l) => l.some((x) => x.body === 'hello from ada, edited' && x.edited), 'the edit');
  assert.match(edited.find((x) => x.edited).html, /<em>hello<\/em> from ada, edited/);
  await waitForCaptions(bea.page, (c) => c.some((l) => l.body === 'hello from ada, edited'));
  // Escape cancels an edit and gives back what was typed.
  await input.fill('draft');
  await input.fill('');
  await input.press('ArrowUp');
  assert.equal(await input.inputValue(), '_hello_ from ada, edited', 'the edit is what the next edit starts from');
  await input.press('Escape');
  assert.equal(await input.inputValue(), '');
});

test('mute hides a person from chat and captions, and survives a reload', async () => {
  await openChat(bea.page);
  await joinAsGuest(bea.page, 'Bea');
  await waitForLines(bea.page, (l) => l.some((x) => x.sender === 'Ada Viewer'), "Ada's line");
  await bea.page.locator('chyron-chat [part~="chat-mute"][aria-label="Mute Ada Viewer"]').first().click();
  await waitForLines(bea.page, (l) => !l.some((x) => x.sender === 'Ada Viewer'), "no line of Ada's");
  await say(ada.page, 'can you hear me');
  await waitForLines(ada.page, (l) => l.some((x) => x.body === 'can you hear me' && !x.pending), "Ada's new line");
  await sleep(1000);
  assert.ok(!(await chatLines(bea.page)).some((x) => x.sender === 'Ada Viewer'));
  await part(bea.page, 'chat-close').click();
  await waitForCaptions(bea.page, (c) => c.length > 0 || true);
  assert.ok(!(await captionTexts(bea.page)).some((l) => l.sender === 'Ada Viewer'), 'captions hide her too');
  await bea.page.reload();
  await waitForCaptions(bea.page, (c) => c.some((l) => l.body === 'welcome to the stream'), { timeout: 20000 });
  assert.ok(!(await captionTexts(bea.page)).some((l) => l.sender === 'Ada Viewer'), 'still hidden after a reload');
  await shot(bea.page, 'muted-captions');
});

test('a guest keeps their name: the upgrade keeps the Matrix ID', async () => {
  const before = await ada.page.evaluate(() => JSON.parse(localStorage.getItem('chyron:chat:session')));
  assert.equal(before.guest, true);
  await ada.page.locator('chyron-chat button', { hasText: 'Keep your name' }).click();
  await ada.page.locator('chyron-chat #chyron-new-password').fill('a-long-password');
  await ada.page.locator('chyron-chat button', { hasText: 'Keep my name' }).click();
  await part(ada.page, 'chat-input').waitFor({ timeout: 20000 });
  const after = await ada.page.evaluate(() => JSON.parse(localStorage.getItem('chyron:chat:session')));
  assert.equal(after.guest, false);
  assert.equal(after.session.user_id, before.session.user_id, 'same Matrix ID');
  await say(ada.page, 'now with an account');
  await waitForLines(ada.page, (l) => l.some((x) => x.body === 'now with an account' && x.sender === 'Ada Viewer' && !x.pending), 'the post as an account');
  await shot(ada.page, 'upgraded');
});

test('registration, and an account keeps its mutes in the account: a second browser agrees', async () => {
  const carol = await viewer();
  await openChat(carol.page);
  await carol.page.locator('chyron-chat button', { hasText: 'Create an account' }).click();
  await carol.page.locator('chyron-chat #chyron-new-user').fill(`carol${process.pid}`);
  await carol.page.locator('chyron-chat #chyron-new-password').fill('carols-password');
  await carol.page.locator('chyron-chat button', { hasText: 'Create account' }).click();
  await part(carol.page, 'chat-rules-accept').click({ timeout: 20000 });
  await waitForLines(carol.page, (l) => l.some((x) => x.sender === 'Ada Viewer'), "Ada's lines");
  await carol.page.locator('chyron-chat [part~="chat-mute"][aria-label="Mute Ada Viewer"]').first().click();
  await waitForLines(carol.page, (l) => !l.some((x) => x.sender === 'Ada Viewer'), 'no line of Ada');
  await sleep(1500);
  const second = await viewer();
  await openChat(second.page);
  await second.page.locator('chyron-chat button', { hasText: 'Sign in' }).click();
  await second.page.locator('chyron-chat #chyron-user').fill(`carol${process.pid}`);
  await second.page.locator('chyron-chat #chyron-password').fill('carols-password');
  await second.page.locator('chyron-chat button[type="submit"]', { hasText: 'Sign in' }).click();
  await part(second.page, 'chat-input').waitFor({ timeout: 20000 });
  await waitForLines(second.page, (l) => l.some((x) => x.body === 'welcome to the stream'), 'the history');
  await waitForLines(second.page, (l) => !l.some((x) => x.sender === 'Ada Viewer'), "no line of Ada's on the second browser");
  await shot(second.page, 'account-mutes');
  await carol.context.close();
  await second.context.close();
});

test('a homeserver that stops answering: the post waits and is delivered once', async () => {
  process.kill(synapse.pid, 'SIGSTOP');
  try {
    await say(ada.page, 'sent while the server sleeps');
    await waitForLines(ada.page, (l) => l.some((x) => x.body === 'sent while the server sleeps' && x.pending), 'the pending post');
    await shot(ada.page, 'pending');
    await sleep(1500);
  } finally {
    process.kill(synapse.pid, 'SIGCONT');
  }
  const lines = await waitForLines(ada.page, (l) => l.some((x) => x.body === 'sent while the server sleeps' && !x.pending), 'the delivered post', 60000);
  assert.equal(lines.filter((x) => x.body === 'sent while the server sleeps').length, 1);
  await waitForCaptions(bea.page, (c) => c.some((l) => l.body === 'sent while the server sleeps') || true);
});
