// Shared by the private-message end-to-end tests: viewers with accounts made
// in the chat itself, what Synapse stored (its own SQLite database), and
// waiting for the chat's status line.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { viewer, part, openChat } from './chat-harness.mjs';

export const PASSWORD = 'a-long-enough-password';

/** A viewer of `stack` who creates the account `user` in the chat; `.id` is its Matrix ID. */
export async function member(stack, user) {
  const v = await viewer(stack);
  await openChat(v.page);
  await v.page.locator('chyron-chat button', { hasText: 'Create an account' }).click();
  await v.page.locator('chyron-chat #chyron-new-user').fill(user);
  await v.page.locator('chyron-chat #chyron-new-password').fill(PASSWORD);
  await v.page.locator('chyron-chat button', { hasText: 'Create account' }).click();
  await part(v.page, 'chat-input').waitFor({ timeout: 30000 });
  v.id = `@${user}:${stack.synapse.seeded.server_name}`;
  return v;
}

/** The event types Synapse stored in `roomId`, read from its own database. */
export function storedTypes(stack, roomId) {
  const db = join(stack.synapse.dir, 'homeserver.db');
  const out = execFileSync('python3', ['-c', `
import sqlite3, sys, json
c = sqlite3.connect(sys.argv[1])
print(json.dumps([r[0] for r in c.execute("select type from events where room_id = ?", (sys.argv[2],))]))
`, db, roomId]);
  return JSON.parse(out.toString());
}

/** The key of what the chat shows (a channel, or a private room's id). */
export const shownRoom = (page) => page.evaluate(() => localStorage.getItem('chyron:chat:channel'));

/** Waits until the chat's status line matches `re`. */
export async function notice(page, re, timeout = 20000) {
  await page.waitForFunction(
    (src) => new RegExp(src).test(document.querySelector('chyron-chat').shadowRoot.querySelector('[part~="chat-notice"]')?.textContent ?? ''),
    re.source, { timeout },
  );
}

/** Opens the Private tab and the conversation whose row shows `title` (and not a group's " and "). */
export async function openConversation(page, title) {
  await part(page, 'chat-private-tab').click({ timeout: 30000 });
  await page.locator('chyron-chat [part~="chat-conversation"]', { hasText: title }).filter({ hasNotText: ' and ' }).first()
    .click({ timeout: 30000 });
  await part(page, 'chat-conversation-head').waitFor({ timeout: 30000 });
}

/** Accepts the first invite in the Private tab. */
export async function acceptInvite(page) {
  await part(page, 'chat-private-tab').click({ timeout: 30000 });
  await page.locator('chyron-chat [part~="chat-invite"] button', { hasText: 'Accept' }).first().click({ timeout: 30000 });
  await part(page, 'chat-conversation-head').waitFor({ timeout: 30000 });
}
