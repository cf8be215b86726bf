// Full chat, end to end, beyond the first conversation: several channels with
// unread counts, the read position across a reload, hostile formatted bodies
// from other Matrix clients, accessibility (axe-core), a chat module that does
// not load, a browser without storage, and a channel guests may not post in.
// Real Synapse, relay and Chromium; screenshots in tests/e2e/out/chat-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { captionTexts, waitForCaptions } from './harness.mjs';
import { sendText, sleep } from './matrix.mjs';
import {
  startChatStack, viewer, part, chatLines, waitForLines, openChat, joinAsGuest, say, shot, sendHtml,
  newestInView,
} from './chat-harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let stack;
let alice;
const send = (channel, text) => sendText(stack.synapse.base, alice, stack.roomIds[channel], text);

before(async () => {
  stack = await startChatStack({
    rooms: [{ channel: 'dj', guests: true }, { channel: 'quiet', guests: false }],
    config: [
      'public_channels = ["demo", "dj", "quiet"]',
      '[channels.demo]', 'title = "Main stage"',
      '[channels.dj]', 'title = "DJ booth"',
      '[channels.quiet]', 'title = "Speakers"',
    ],
  });
  alice = stack.synapse.seeded.users.alice.access_token;
  await send('demo', 'main stage opens');
  await send('dj', 'first track');
});

after(async () => {
  await stack?.stop();
});

test('channels: the tabs list every public channel, count unread lines, and switch at once', async () => {
  const v = await viewer(stack);
  await openChat(v.page);
  await waitForLines(v.page, (l) => l.some((x) => x.body === 'main stage opens'), 'the main channel');
  const tabs = await part(v.page, 'chat-channel').allInnerTexts();
  assert.deepEqual(tabs.map((t) => t.replace(/\d+$/, '').trim()), ['Main stage', 'DJ booth', 'Speakers']);
  assert.equal(await part(v.page, 'chat-channel').first().getAttribute('aria-current'), 'page');
  await send('dj', 'second track');
  await send('dj', 'third track');
  const dj = part(v.page, 'chat-channel').filter({ hasText: 'DJ booth' });
  await dj.locator('[part~="chat-unread-count"]').filter({ hasText: '3' }).waitFor({ timeout: 20000 });
  assert.equal(await dj.locator('[part~="chat-unread-count"]').getAttribute('aria-label'), '3 unread');
  await shot(v.page, 'unread-tab');
  await part(v.page, 'chat-name').fill('Dee Jay Fan');
  const t0 = Date.now();
  await dj.click();
  const lines = await waitForLines(v.page, (l) => l.some((x) => x.body === 'third track'), 'the DJ channel', 2000);
  const switchMs = Date.now() - t0;
  assert.deepEqual(lines.map((x) => x.body), ['first track', 'second track', 'third track']);
  assert.ok(switchMs < 2000, `switching took ${switchMs} ms`);
  assert.equal(await dj.getAttribute('aria-current'), 'page');
  assert.equal(await dj.locator('[part~="chat-unread-count"]').count(), 0, 'no count on the channel shown');
  assert.equal(await part(v.page, 'chat-name').inputValue(), 'Dee Jay Fan', 'the typed name survives the switch');
  await shot(v.page, 'dj');
  assert.deepEqual(v.log.pageErrors, []);
  await v.context.close();
});

test('read position: after a reload the chat opens at the first unseen line, below a divider', async () => {
  const v = await viewer(stack);
  await openChat(v.page);
  await waitForLines(v.page, (l) => l.some((x) => x.body === 'main stage opens'), 'the history');
  // Leaving the chat (back to captions) remembers how far it was read.
  await part(v.page, 'chat-close').click();
  for (let i = 1; i <= 30; i++) await send('demo', `while away ${i}`);
  await v.page.reload();
  // The chat was left for captions: it stays closed until asked.
  await waitForCaptions(v.page, (c) => c.some((l) => l.body === 'while away 30'), { timeout: 20000 });
  await openChat(v.page);
  const all = await waitForLines(v.page, (l, withDivider) => withDivider.some((x) => x.divider) && l.some((x) => x.body === 'while away 30'), 'the divider');
  const rows = await chatLines(v.page);
  const at = rows.findIndex((x) => x.divider);
  assert.equal(rows[at - 1].body, 'main stage opens', 'the divider follows the last line read');
  assert.equal(rows[at + 1].body, 'while away 1');
  assert.ok(all.length >= 31);
  // The first unseen line is on screen, not the end of the log.
  const seen = await v.page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const log = root.querySelector('[part~="chat-log"]').getBoundingClientRect();
    const divider = root.querySelector('[part~="chat-unread"]').getBoundingClientRect();
    return { top: divider.top - log.top, height: log.height };
  });
  assert.ok(seen.top >= -1 && seen.top < seen.height, `divider at ${JSON.stringify(seen)}`);
  await shot(v.page, 'unread-divider');
  // Reading on: at the end, new lines keep the log at the newest line.
  await v.page.evaluate(() => {
    const log = document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="chat-log"]');
    log.scrollTop = log.scrollHeight;
    log.dispatchEvent(new Event('scroll'));
  });
  await send('demo', 'the newest line');
  await waitForLines(v.page, (l) => l.some((x) => x.body === 'the newest line'), 'the newest line');
  await sleep(300);
  assert.ok(await newestInView(v.page), 'the newest line is in view');
  // A taller footer (the sign-in form) does not hide it.
  await v.page.locator('chyron-chat button', { hasText: 'Sign in' }).click();
  await v.page.locator('chyron-chat #chyron-user').waitFor();
  await sleep(300);
  assert.ok(await newestInView(v.page), 'the newest line is still in view above the form');
  await v.context.close();
});

const HOSTILE = [
  ['img', '<img src=x onerror="window.__pwned=1">img'],
  ['script', '<script>window.__pwned=2</script>script'],
  ['jslink', '<a href="javascript:window.__pwned=3">js link</a>'],
  ['onclick', '<b onclick="window.__pwned=4" style="position:fixed;inset:0;z-index:9">clicky</b>'],
  ['iframe', '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>frame'],
  ['svg', '<svg><script>window.__pwned=6</script><a xlink:href="javascript:x">svg</a></svg>svg'],
  ['style', '<style>*{display:none!important}</style>style'],
  ['form', '<form action="https://example.org"><input name=p autofocus onfocus="window.__pwned=7"></form>form'],
  ['details', '<details open ontoggle="window.__pwned=8">details</details>'],
  ['deep', '<b>'.repeat(300) + 'deep' + '</b>'.repeat(300)],
  ['entity', '&lt;script&gt;not a tag&lt;/script&gt;'],
  ['good', '<b>bold</b> <em>it</em> <a href="https://example.org/x">ok link</a> <code>code</code>'],
];

test('hostile formatted bodies from another Matrix client: nothing runs, nothing escapes the line', async () => {
  const v = await viewer(stack);
  await openChat(v.page);
  for (const [name, html] of HOSTILE) {
    await sendHtml(stack.synapse.base, alice, stack.roomIds.demo, `hostile ${name}`, html);
  }
  await waitForLines(v.page, (l) => l.filter((x) => x.sender === 'alice').length >= HOSTILE.length, 'every hostile line', 30000);
  await sleep(500);
  const report = await v.page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const bodies = [...root.querySelectorAll('[part~="chat-body"]')];
    const all = bodies.flatMap((b) => [...b.querySelectorAll('*')]);
    return {
      pwned: window.__pwned ?? null,
      tags: [...new Set(all.map((e) => e.localName))].sort(),
      handlers: all.flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on') || n === 'style' || n === 'srcdoc'),
      hrefs: all.filter((e) => e.hasAttribute('href')).map((e) => e.getAttribute('href')),
      depth: Math.max(0, ...all.map((e) => { let d = 0; for (let p = e; p && !p.matches('[part~="chat-body"]'); p = p.parentElement) d++; return d; })),
      texts: bodies.map((b) => b.textContent),
      fixed: all.some((e) => getComputedStyle(e).position === 'fixed'),
    };
  });
  assert.equal(report.pwned, null, 'no script ran');
  for (const tag of report.tags) {
    assert.ok(['a', 'b', 'code', 'em', 'strong', 'i', 'del', 'span', 'p', 'br', 'pre', 'ul', 'ol', 'li', 'blockquote'].includes(tag), `unexpected <${tag}>`);
  }
  assert.deepEqual(report.handlers, [], 'no event handler, style or srcdoc attribute');
  assert.ok(report.hrefs.every((h) => /^https:\/\//.test(h)), `hrefs: ${report.hrefs}`);
  assert.ok(report.hrefs.includes('https://example.org/x'), 'the good link is kept');
  assert.ok(report.depth <= 17, `nesting ${report.depth}`);
  assert.equal(report.fixed, false);
  assert.ok(report.texts.some((t) => t.includes('<script>not a tag</script>')), 'escaped text stays text');
  assert.ok(report.texts.some((t) => t.includes('bold') && t.includes('ok link')));
  await shot(v.page, 'hostile');
  assert.deepEqual(v.log.pageErrors, []);
  await v.context.close();
});

test('accessibility: keyboard only, with managed focus; axe-core finds no violations', async () => {
  const v = await viewer(stack);
  const focused = () => v.page.evaluate(() => {
    const el = document.activeElement?.shadowRoot?.activeElement;
    return el ? (el.getAttribute('part') ?? el.id ?? el.localName) : document.activeElement?.localName;
  });
  const audit = async (when) => {
    await v.page.evaluate(AXE);
    const result = await v.page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((x) => ({ id: x.id, impact: x.impact, nodes: x.nodes.map((n) => n.target.join(' ')).slice(0, 3) }));
    });
    assert.deepEqual(result, [], `axe violations ${when}: ${JSON.stringify(result, null, 1)}`);
  };
  await waitForCaptions(v.page, (c) => c.length > 0, { timeout: 20000 });
  await audit('in captions');
  // The Chat button, from the keyboard: the panel opens with the focus on the name field.
  await part(v.page, 'chat-open').focus();
  await v.page.keyboard.press('Enter');
  await part(v.page, 'chat').waitFor({ timeout: 20000 });
  await waitForLines(v.page, (l) => l.length > 0, 'lines');
  await v.page.waitForFunction(() => document.activeElement?.shadowRoot?.activeElement?.id === 'chyron-name', null, { timeout: 5000 });
  await audit('before joining');
  // Enter joins; the composer takes the focus; Enter posts.
  await v.page.keyboard.press('Control+A');
  await v.page.keyboard.type('Axel');
  await v.page.keyboard.press('Enter');
  await v.page.waitForFunction(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('part') === 'chat-input', null, { timeout: 20000 });
  await audit('with the composer');
  await v.page.keyboard.type('typed with the keyboard');
  await v.page.keyboard.press('Enter');
  await waitForLines(v.page, (l) => l.some((x) => x.body === 'typed with the keyboard' && !x.pending), 'the keyboard post');
  assert.equal(await focused(), 'chat-input', 'the focus stays in the composer');
  // Back to captions: the focus lands on the button that reopens the chat.
  await part(v.page, 'chat-close').focus();
  await v.page.keyboard.press('Enter');
  await v.page.waitForFunction(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('part') === 'chat-open', null, { timeout: 5000 });
  await shot(v.page, 'keyboard-back');
  await v.context.close();
});

test('a chat module that cannot load: the captions say so and go on', async () => {
  const v = await viewer(stack);
  await v.page.route('**/chat/chyron-chat_bg.wasm*', (route) => route.abort());
  await waitForCaptions(v.page, (c) => c.length > 0, { timeout: 20000 });
  await part(v.page, 'chat-open').click({ timeout: 20000 });
  await v.page.locator('chyron-chat [part~="status"]').filter({ hasText: 'Chat could not be loaded' }).waitFor({ timeout: 20000 });
  await send('demo', 'captions go on');
  await waitForCaptions(v.page, (c) => c.some((l) => l.body === 'captions go on'), { timeout: 20000 });
  await shot(v.page, 'load-failed');
  await v.context.close();
});

test('a browser that stores nothing: the chat says so, and a guest can still post', async () => {
  const init = () => {
    Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('denied', 'SecurityError'); } });
  };
  const v = await viewer(stack, { init });
  await openChat(v.page);
  await part(v.page, 'chat-storage-note').waitFor({ timeout: 20000 });
  await joinAsGuest(v.page, 'Nostore', { rules: false });
  await say(v.page, 'posted without storage');
  await waitForLines(v.page, (l) => l.some((x) => x.body === 'posted without storage' && !x.pending), 'the post');
  assert.deepEqual(v.log.pageErrors, []);
  await v.context.close();
});

test('a channel whose room does not let guests in: the chat says why and offers an account', async () => {
  const v = await viewer(stack);
  await openChat(v.page);
  await part(v.page, 'chat-channel').filter({ hasText: 'Speakers' }).click();
  await v.page.locator('chyron-chat [part~="chat-join"]').filter({ hasText: 'Guests cannot post in this channel' }).waitFor({ timeout: 20000 });
  assert.equal(await part(v.page, 'chat-join-button').count(), 0, 'no guest join offered');
  await shot(v.page, 'no-guests');
  await v.context.close();
});

test('sign-in and registration mistakes: each says what is wrong, and keeps what was typed', async () => {
  const v = await viewer(stack);
  await openChat(v.page);
  const notice = part(v.page, 'chat-notice');
  const until = async (re) => {
    await v.page.waitForFunction(
      (src) => new RegExp(src).test(document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="chat-notice"]')?.textContent ?? ''),
      re.source, { timeout: 20000 },
    ).catch(async () => assert.fail(`notice ${JSON.stringify(await notice.textContent())} never matched ${re}`));
  };
  await v.page.locator('chyron-chat button', { hasText: 'Sign in' }).click();
  const user = v.page.locator('chyron-chat #chyron-user');
  const password = v.page.locator('chyron-chat #chyron-password');
  await user.fill('alice');
  await password.fill('not her password');
  await v.page.locator('chyron-chat button[type="submit"]', { hasText: 'Sign in' }).click();
  await until(/Wrong username or password/);
  assert.equal(await user.inputValue(), 'alice', 'the username stays');
  await user.fill('Bad Name!');
  await v.page.locator('chyron-chat button[type="submit"]', { hasText: 'Sign in' }).click();
  await until(/Usernames may use a–z/);
  await shot(v.page, 'sign-in-error');
  await v.page.locator('chyron-chat button', { hasText: 'Back' }).click();
  await v.page.locator('chyron-chat button', { hasText: 'Create an account' }).click();
  await v.page.locator('chyron-chat #chyron-new-user').fill('alice');
  await v.page.locator('chyron-chat #chyron-new-password').fill('short');
  await v.page.locator('chyron-chat button', { hasText: 'Create account' }).click();
  await until(/at least 8 characters/);
  await v.page.locator('chyron-chat #chyron-new-password').fill('a-long-enough-password');
  await v.page.locator('chyron-chat button', { hasText: 'Create account' }).click();
  await until(/That username is taken/);
  assert.equal(await v.page.locator('chyron-chat #chyron-new-user').inputValue(), 'alice');
  assert.deepEqual(v.log.pageErrors, []);
  await v.context.close();
});

test('hostile display names from other clients are text, and cannot pose as someone else', async () => {
  const { call } = await import('./matrix.mjs');
  const bob = stack.synapse.seeded.users.bob;
  const evil = '<img src=x onerror="window.__pwned=9">\u202Eevil\u200B';
  const r = await call(stack.synapse.base, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.user_id)}/displayname`, {
    token: bob.access_token, body: { displayname: evil },
  });
  assert.equal(r.status, 200);
  await sendText(stack.synapse.base, bob.access_token, stack.roomIds.demo, 'hello from a strange name');
  const v = await viewer(stack);
  await openChat(v.page);
  // Synapse carries a profile change into the room in the background: the
  // line may come first under the old name, then the renaming member event
  // renames it (as every line of a renamed sender is). Wait for that: on a
  // loaded machine Synapse's propagation has taken over 20 s (CI, 2 cores).
  const shown = '<img src=x onerror="window.__pwned=9">evil';
  const strange = (x) => x.body === 'hello from a strange name';
  const lines = await waitForLines(v.page, (l) => l.some((x) => strange(x) && x.sender === shown),
    'the line under the new name, markup shown as text, disguising characters gone', 60000);
  const line = lines.find(strange);
  assert.equal(line.sender, shown);
  const report = await v.page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    imgs: document.querySelector('chyron-chat').shadowRoot.querySelectorAll('[part~="chat-sender"] img').length,
  }));
  assert.deepEqual(report, { pwned: null, imgs: 0 });
  assert.ok(!line.sender.includes('\u202E') && !line.sender.includes('\u200B'), `bidi and zero-width removed: ${JSON.stringify(line.sender)}`);
  await v.context.close();
});
