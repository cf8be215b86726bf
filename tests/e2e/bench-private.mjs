// Full-chat benchmark, part 5 (run by bench-chat.mjs): private messages,
// cold. "Message privately" → the first private message sent.
//
// Each run: two accounts created in the chat itself (private-harness.mjs
// member(): a fresh browser context each, so a new device with no keys, no
// Olm sessions, an empty HTTP cache); the second posts a public line; once
// the first sees it, the first clicks the line's Message button. Timed in the
// page (performance.now(): a capture-phase click and keydown listener, a
// MutationObserver and a 10 ms poll on the chat's shadow root):
//   shown_ms: click on Message → the conversation heading naming the other
//     person shown (the encrypted room created, the chat's own sync brought
//     it, switched to); first_head_ms: → any heading (the chat may show a
//     placeholder titled "Notes", at times "Not encrypted", until its sync
//     knows the room; placeholder_ms: for how long);
//   sent_ms: Enter on the first message → its line confirmed (no
//     "Sending…"/failed marker: matrix-sdk encrypted it, shared the room key
//     with the other's device and the homeserver took it); echo_ms: Enter →
//     the line first shown (pending);
//   total_ms = shown_ms + sent_ms (the harness's typing in between left out;
//     `retyped` counts drafts the chat cleared before Enter, typed again).
// CHAT_PRIVATE_RUNS runs (default 5); each fresh pair closed after its run.
// Also records the chat's own /sync requests (their query, without the
// since token): the load part replays that exact filter and parameters.
import { now, round, sleep } from './matrix.mjs';
import { part, say, waitForLines } from './chat-harness.mjs';
import { member } from './private-harness.mjs';
import { log, median } from './bench-chat-load.mjs';

const UI_TIMEOUT = 60000;

/**
 * In the page: timestamps of Message click → a heading (firstHeadAt: any, the
 * chat may show a placeholder first) → the heading naming `name` (headAt),
 * Enter → echo → confirmed for `text`.
 */
function installProbe([text, name]) {
  const root = document.querySelector('chyron-chat').shadowRoot;
  const shown = (el) => !!el && el.isConnected && el.getClientRects().length > 0
    && (el.checkVisibility ? el.checkVisibility({ checkVisibilityCSS: true }) : true);
  const P = { text, clickAt: null, firstHeadAt: null, headAt: null, headSaid: null, enterAt: null, echoAt: null, confirmedAt: null, failed: false };
  window.__pm = P;
  window.addEventListener('click', (e) => {
    const el = e.composedPath()[0];
    if (P.clickAt === null && el?.closest?.('[part~="chat-message"]')) P.clickAt = performance.now();
  }, true);
  window.addEventListener('keydown', (e) => {
    const el = e.composedPath()[0];
    if (e.key === 'Enter') P.trace?.push([Math.round(performance.now()), `Enter on ${el?.getAttribute?.('part')}: "${el?.value}"`]);
    if (e.key === 'Enter' && P.enterAt === null && el?.matches?.('[part~="chat-input"]') && el.value === text) {
      P.enterAt = performance.now();
    }
  }, true);
  // What the conversation showed, for a failed run's record: [ms, head | composer | notice].
  P.trace = [];
  let last = '';
  const trace = (t, what) => { if (what !== last && P.trace.length < 40) P.trace.push([Math.round(t), what]); last = what; };
  const scan = () => {
    const t = performance.now();
    const head = root.querySelector('[part~="chat-conversation-head"]');
    const input = root.querySelector('[part~="chat-input"]');
    trace(t, `${head ? head.textContent : '-'} | ${input ? `input "${input.value}"` : '-'} | ${root.querySelector('[part~="chat-notice"]')?.textContent ?? ''}`);
    if (P.clickAt !== null && P.headAt === null && shown(head)) {
      if (P.firstHeadAt === null) P.firstHeadAt = t;
      if (head.textContent.includes(name)) {
        P.headAt = t;
        P.headSaid = head.textContent;
      }
    }
    if (P.enterAt === null || P.confirmedAt !== null) return;
    for (const li of root.querySelectorAll('[part~="chat-line"]')) {
      if (li.querySelector('[part~="chat-body"]')?.textContent !== text) continue;
      if (P.echoAt === null) P.echoAt = t;
      if (li.querySelector('[part~="chat-failed"]')) P.failed = true;
      if (!li.querySelector('[part~="chat-pending"], [part~="chat-failed"]')) P.confirmedAt = t;
    }
  };
  new MutationObserver(scan).observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
  setInterval(scan, 10);
}

const probe = (page) => page.evaluate(() => ({ ...window.__pm }));

/** The chat's /sync requests as sent (query without `since`): the first, and a long-poll. */
function watchSyncs(page, seen) {
  page.on('request', (r) => {
    let u;
    try { u = new URL(r.url()); } catch { return; }
    if (!u.pathname.endsWith('/_matrix/client/v3/sync')) return;
    const key = u.searchParams.has('since') ? 'long_poll' : 'first';
    if (seen[key]) return;
    u.searchParams.delete('since');
    seen[key] = Object.fromEntries(u.searchParams);
  });
}

/** One cold run: two fresh accounts; resolves to the run's record. */
async function oneRun(stack, tag, i, syncs) {
  const run = {};
  const opened = [];
  try {
    const t0 = now();
    const a = await member(stack, `pa${tag}${i}`);
    opened.push(a);
    watchSyncs(a.page, syncs);
    const b = await member(stack, `pb${tag}${i}`);
    opened.push(b);
    run.accounts_s = round((now() - t0) / 1000, 1);
    const hello = `hello from b ${tag} ${i}`;
    await say(b.page, hello);
    await waitForLines(a.page, (l) => l.some((x) => x.body === hello), 'b\'s public line', UI_TIMEOUT);
    const text = `first private ${tag} ${i}`;
    await a.page.evaluate(installProbe, [text, `pb${tag}${i}`]);
    const line = a.page.locator('chyron-chat [part~="chat-line"]', { hasText: hello });
    await line.locator('[part~="chat-message"]').click({ timeout: UI_TIMEOUT });
    await a.page.waitForFunction(() => window.__pm.headAt !== null, null, { timeout: UI_TIMEOUT, polling: 20 });
    const head = await probe(a.page);
    run.encrypted = /End-to-end encrypted/.test(head.headSaid);
    run.first_head_ms = round(head.firstHeadAt - head.clickAt, 1);
    if (head.firstHeadAt < head.headAt) run.placeholder_ms = round(head.headAt - head.firstHeadAt, 1);
    // Typed as soon as the heading shows. The chat may rebuild the composer
    // just after (the draft then vanishes and Enter finds it empty): typed
    // again, counted in `retyped`; sent_ms starts at the Enter that carried it.
    run.retyped = 0;
    for (;;) {
      await part(a.page, 'chat-input').fill(text, { timeout: UI_TIMEOUT });
      await part(a.page, 'chat-input').press('Enter');
      await sleep(300);
      if ((await probe(a.page)).enterAt !== null) break;
      if (++run.retyped >= 5) throw new Error('Enter never carried the typed message (5 tries)');
    }
    await a.page.waitForFunction(() => window.__pm.confirmedAt !== null || window.__pm.failed, null,
      { timeout: UI_TIMEOUT, polling: 20 });
    const p = await probe(a.page);
    if (p.failed && p.confirmedAt === null) throw new Error('the first private message failed');
    Object.assign(run, {
      shown_ms: round(p.headAt - p.clickAt, 1),
      sent_ms: round(p.confirmedAt - p.enterAt, 1),
      echo_ms: round(p.echoAt - p.enterAt, 1),
      typing_ms: round(p.enterAt - p.headAt, 1),
    });
    run.total_ms = round(run.shown_ms + run.sent_ms, 1);
    if (run.retyped) run.trace = p.trace;
  } catch (e) {
    run.error = e.message.split('\n')[0];
    const p = await (opened[0] ? probe(opened[0].page).catch(() => null) : null);
    if (p) run.probe = p;
  }
  const errs = opened.flatMap((v) => [...v.log.pageErrors, ...v.log.errors]);
  run.page_errors = opened.reduce((s, v) => s + v.log.pageErrors.length, 0);
  run.console_errors = opened.reduce((s, v) => s + v.log.errors.length, 0);
  if (errs.length) run.errors_seen = errs.slice(0, 3).map((t) => t.slice(0, 200));
  for (const v of opened) await v.context.close().catch(() => {});
  return run;
}

/** Part 5: CHAT_PRIVATE_RUNS cold runs; fills report.private. */
export async function privateRuns(stack, report, { private_runs: RUNS }) {
  const section = { runs: RUNS, each: [], sync_requests: {} };
  report.private = section;
  if (RUNS < 1) {
    section.note = 'not run (CHAT_PRIVATE_RUNS is 0)';
    return;
  }
  const tag = Math.random().toString(36).slice(2, 7);
  for (let i = 0; i < RUNS; i++) {
    const run = await oneRun(stack, tag, i, section.sync_requests);
    section.each.push(run);
    log(`private ${i + 1}/${RUNS}: ${JSON.stringify(run)}`);
  }
  const ok = section.each.filter((r) => typeof r.total_ms === 'number');
  const stat = (k) => {
    const xs = ok.map((r) => r[k]);
    return { median_ms: round(median(xs), 1), max_ms: xs.length ? round(Math.max(...xs), 1) : null };
  };
  Object.assign(section, {
    samples: ok.length,
    failed: section.each.length - ok.length,
    encrypted: ok.filter((r) => r.encrypted).length,
    retyped_runs: ok.filter((r) => r.retyped).length,
    total: stat('total_ms'), shown: stat('shown_ms'), sent: stat('sent_ms'), echo: stat('echo_ms'),
  });
  log(`private: ${JSON.stringify({ ...section, each: undefined })}`);
}
