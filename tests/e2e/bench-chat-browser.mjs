// Full-chat benchmark, parts 1–3 (run by bench-chat.mjs): what the chat
// module (chat/, matrix-sdk in the browser) costs a viewer in Chromium: its
// download, Chat → panel and Join → composer, post → confirmed.
//
// 1. Module size: dist/chat/chyron-chat_bg.wasm and chyron-chat.js, raw and
//    brotli (the build's .br next to them when it is current, else node's
//    zlib brotli at quality 11), beside the overlay's download before the
//    first caption (chyron_bg.wasm + chyron.js + embed.js, brotli). The goal:
//    ≤ 1.6 MB brotli with end-to-end encryption (issue 9; it was ≤ 900 KB
//    before private messages).
// 2. Open → panel, Join → composer: CHAT_JOINS fresh browser contexts (a
//    fresh context has an empty HTTP cache: cold) on a stream page of another
//    origin embedding channel demo (the stack of chat-harness.mjs: Synapse,
//    the relay bridging #demo, no rules). open_ms: click on "Chat" → the
//    panel shown with lines; join_ms: click on Join (name filled in) → the
//    composer shown. Then the same page reloaded with its storage cleared
//    (HTTP cache warm, no session) and measured again: warm.
// 3. Post → confirmed: in one joined page, CHAT_POSTS posts one every
//    CHAT_POST_INTERVAL_MS ms, typed and sent with Enter; Enter → the line in
//    the log without a "Sending…" marker (the relay's feed brought it back).
//    Timed inside the page (a keydown listener and a MutationObserver, both
//    performance.now()). A post shown in two rows at once counts as shown
//    twice; two confirmed rows as a duplicate.
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants as zc } from 'node:zlib';
import { DIST, watchConsole } from './harness.mjs';
import { now, sleep, round } from './matrix.mjs';
import { part } from './chat-harness.mjs';
import { log, ms, until, median } from './bench-chat-load.mjs';

const UI_TIMEOUT = 60000;

// ---------------------------------------------------------------------------
// 1. Sizes.

/** Raw and brotli bytes of a dist file; the build's .br when it is current. */
function sizes(rel) {
  const path = join(DIST, rel);
  const raw = readFileSync(path);
  const br = `${path}.br`;
  let brotli;
  let source;
  // brotli(1) gives the copy its input's mtime, in whole seconds.
  const current = existsSync(br) && statSync(br).size > 0
    && Math.floor(statSync(br).mtimeMs / 1000) >= Math.floor(statSync(path).mtimeMs / 1000);
  if (current) {
    brotli = statSync(br).size;
    source = 'build .br';
  } else {
    brotli = brotliCompressSync(raw, {
      params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }).length;
    source = 'zlib q11';
  }
  return { path: `dist/${rel}`, raw_bytes: raw.length, brotli_bytes: brotli, brotli_from: source };
}

/** Part 1: the chat module's download beside the overlay's. */
export function moduleSizes() {
  const chat = ['chat/chyron-chat_bg.wasm', 'chat/chyron-chat.js'].map(sizes);
  const overlay = ['chyron_bg.wasm', 'chyron.js', 'embed.js'].map(sizes);
  const sum = (xs, k) => xs.reduce((s, x) => s + x[k], 0);
  return {
    chat: { files: chat, raw_bytes: sum(chat, 'raw_bytes'), brotli_bytes: sum(chat, 'brotli_bytes'), goal_brotli_kb: 1600, goal_before_encryption_kb: 900 },
    overlay: { files: overlay, raw_bytes: sum(overlay, 'raw_bytes'), brotli_bytes: sum(overlay, 'brotli_bytes'), goal_brotli_kb: 60 },
  };
}

// ---------------------------------------------------------------------------
// 2. Open and join, timed in the page.

/**
 * Page-side helpers (an init script): `__bench.arm(name)` starts watching the
 * chyron-chat shadow root for a condition ("open": the panel shown with
 * lines; "composer": the input shown) and remembers the time of the next
 * click on the part that leads there; `__bench.done(name)` resolves to
 * [clickAt, readyAt] (performance.now()).
 */
function benchInit() {
  const shown = (el) => !!el && el.isConnected && el.getClientRects().length > 0
    && (el.checkVisibility ? el.checkVisibility({ checkVisibilityCSS: true }) : true);
  const root = () => document.querySelector('chyron-chat')?.shadowRoot;
  const conds = {
    open: (r) => shown(r.querySelector('[part~="chat"]')) && !!r.querySelector('[part~="chat"] [part~="chat-line"]'),
    composer: (r) => shown(r.querySelector('[part~="chat-input"]')),
  };
  const clicks = { open: '[part~="chat-open"]', composer: '[part~="chat-join-button"]' };
  const state = {};
  window.addEventListener('click', (e) => {
    const t = performance.now();
    const el = e.composedPath()[0];
    for (const [name, sel] of Object.entries(clicks)) {
      if (state[name] && state[name].clickAt === null && el?.closest?.(sel)) state[name].clickAt = t;
    }
  }, true);
  window.__bench = {
    arm(name) {
      const r = root();
      const s = { clickAt: null, readyAt: null };
      state[name] = s;
      s.promise = new Promise((resolve) => {
        const check = () => {
          if (s.readyAt !== null || s.clickAt === null) return;
          if (conds[name](r)) {
            s.readyAt = performance.now();
            mo.disconnect();
            clearInterval(iv);
            resolve([s.clickAt, s.readyAt]);
          }
        };
        const mo = new MutationObserver(check);
        mo.observe(r, { childList: true, subtree: true, attributes: true, characterData: true });
        const iv = setInterval(check, 10);
      });
    },
    done: (name) => state[name].promise,
  };
}

/** Clicks `clickPart` and resolves to the in-page ms until condition `name`. */
async function timed(page, name, clickPart) {
  await page.evaluate((n) => window.__bench.arm(n), name);
  await part(page, clickPart).click({ timeout: UI_TIMEOUT });
  const [clickAt, readyAt] = await Promise.race([
    page.evaluate((n) => window.__bench.done(n), name),
    sleep(UI_TIMEOUT).then(() => { throw new Error(`${name}: not ready within ${UI_TIMEOUT / 1000} s`); }),
  ]);
  return round(readyAt - clickAt, 1);
}

/** Loads the stream page, opens the chat and joins as a guest: { open_ms, join_ms }. */
async function openAndJoin(page, name) {
  await part(page, 'chat-open').waitFor({ timeout: UI_TIMEOUT });
  const open_ms = await timed(page, 'open', 'chat-open');
  await part(page, 'chat-name').fill(name);
  const join_ms = await timed(page, 'composer', 'chat-join-button');
  return { open_ms, join_ms };
}

/**
 * Part 2: CHAT_JOINS fresh contexts, each cold then warm; fills
 * report.open_join. Resolves to the last page that joined, kept for part 3.
 */
export async function joinRuns(stack, report, { joins: JOINS }) {
  const runs = [];
  let kept = null;
  for (let i = 0; i < JOINS; i++) {
    const context = await stack.browser.newContext({ viewport: { width: 1000, height: 640 } });
    await context.addInitScript(benchInit);
    const page = await context.newPage();
    const consoleLog = watchConsole(page);
    const refused = [];
    page.on('response', (r) => { if (r.status() >= 400) refused.push(`${r.status()} ${r.url()}`); });
    const run = {};
    try {
      await page.goto(`${stack.site.url}/stream`);
      run.cold = await openAndJoin(page, `Bench ${i}`);
      // Warm: same context (its HTTP cache), storage cleared (no session, captions).
      await page.evaluate(() => localStorage.clear());
      await page.reload();
      run.warm = await openAndJoin(page, `Bench ${i} again`);
    } catch (e) {
      run.error = e.message.split('\n')[0];
    }
    run.page_errors = consoleLog.pageErrors.length;
    run.console_errors = consoleLog.errors.length;
    if (consoleLog.errors.length || consoleLog.pageErrors.length) {
      run.errors_seen = [...consoleLog.pageErrors, ...consoleLog.errors].slice(0, 3).map((t) => t.slice(0, 200));
    }
    if (refused.length) run.http_errors = refused.slice(0, 5);
    runs.push(run);
    log(`join ${i + 1}/${JOINS}: ${JSON.stringify(run)}`);
    // The last page that joined stays for the posts.
    if (run.warm) {
      await kept?.context.close();
      kept = { context, page, log: consoleLog };
    } else await context.close();
  }
  const pick = (k, f) => runs.map((r) => r[k]?.[f]).filter((x) => typeof x === 'number');
  const sum = (k) => {
    const open = pick(k, 'open_ms');
    const joined = pick(k, 'join_ms');
    return {
      samples: joined.length,
      open_median_ms: round(median(open), 1), open_max_ms: round(Math.max(...open), 1),
      join_median_ms: round(median(joined), 1), join_max_ms: round(Math.max(...joined), 1),
    };
  };
  report.open_join = {
    runs: JOINS, failed: runs.filter((r) => r.error).length,
    cold: sum('cold'), warm: sum('warm'), goal_join_median_ms: 1500, each: runs,
  };
  return kept;
}

// ---------------------------------------------------------------------------
// 3. Posts, timed in the page.

function installPostRecorder(page) {
  return page.evaluate(() => {
    const root = document.querySelector('chyron-chat').shadowRoot;
    const P = {
      enter: new Map(), confirmed: new Map(), maxConfirmed: new Map(), maxShown: new Map(), failed: new Set(),
      twiceSince: new Map(), twiceMs: new Map(),
    };
    window.__posts = P;
    window.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      const el = e.composedPath()[0];
      if (el?.matches?.('[part~="chat-input"]') && !P.enter.has(el.value)) P.enter.set(el.value, performance.now());
    }, true);
    const scan = () => {
      const t = performance.now();
      const confirmed = new Map();
      const shown = new Map();
      for (const li of root.querySelectorAll('[part~="chat-line"]')) {
        const body = li.querySelector('[part~="chat-body"]')?.textContent;
        if (!P.enter.has(body)) continue;
        shown.set(body, (shown.get(body) ?? 0) + 1);
        if (li.querySelector('[part~="chat-failed"]')) P.failed.add(body);
        if (li.querySelector('[part~="chat-pending"], [part~="chat-failed"]')) continue;
        confirmed.set(body, (confirmed.get(body) ?? 0) + 1);
        if (!P.confirmed.has(body)) P.confirmed.set(body, t);
      }
      for (const [b, n] of confirmed) if (n > (P.maxConfirmed.get(b) ?? 0)) P.maxConfirmed.set(b, n);
      for (const [b, n] of shown) if (n > (P.maxShown.get(b) ?? 0)) P.maxShown.set(b, n);
      // How long a post stays in two rows (e.g. "Sending…" beside its line).
      for (const [b, n] of shown) if (n > 1 && !P.twiceSince.has(b)) P.twiceSince.set(b, t);
      for (const [b, since] of P.twiceSince) {
        if ((shown.get(b) ?? 0) > 1) continue;
        P.twiceMs.set(b, (P.twiceMs.get(b) ?? 0) + t - since);
        P.twiceSince.delete(b);
      }
    };
    new MutationObserver(scan).observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
    window.__postsResult = () => {
      scan();
      return [...P.enter].map(([body, enter]) => ({
        body, enter,
        confirmed: P.confirmed.get(body) ?? null,
        max_confirmed_rows: P.maxConfirmed.get(body) ?? 0,
        max_rows: P.maxShown.get(body) ?? 0,
        twice_ms: (P.twiceMs.get(body) ?? 0) + (P.twiceSince.has(body) ? performance.now() - P.twiceSince.get(body) : 0),
        failed: P.failed.has(body),
      }));
    };
    window.__postsConfirmed = () => { scan(); return P.confirmed.size; };
  });
}

/** Part 3: CHAT_POSTS posts from the joined page; fills report.posts. */
export async function postRun(joined, report, { posts: POSTS, post_interval_ms: POST_EVERY_MS, drain_seconds: DRAIN_S }) {
  const { page } = joined;
  await installPostRecorder(page);
  const input = part(page, 'chat-input');
  const tag = Math.random().toString(36).slice(2, 7);
  const start = now();
  let late = 0;
  for (let i = 0; i < POSTS; i++) {
    const wait = start + i * POST_EVERY_MS - now();
    if (wait > 0) await sleep(wait); else if (i) late++;
    await input.fill(`bench post ${tag} ${i}`);
    await input.press('Enter');
  }
  const typed = await page.evaluate(() => window.__posts.enter.size);
  await until(() => page.evaluate(() => window.__postsConfirmed()).then((n) => n >= typed), now() + DRAIN_S * 1000, 200);
  await sleep(1000); // a second row, if one comes, comes now
  const rows = await page.evaluate(() => window.__postsResult());
  const lat = rows.filter((r) => r.confirmed !== null).map((r) => r.confirmed - r.enter);
  report.posts = {
    posts: POSTS, interval_ms: POST_EVERY_MS, typed, sent_late: late,
    delivered: lat.length, lost: POSTS - lat.length,
    duplicates: rows.filter((r) => r.max_confirmed_rows > 1).length,
    shown_twice: rows.filter((r) => r.max_rows > 1).length,
    shown_twice_ms: rows.filter((r) => r.max_rows > 1).map((r) => round(r.twice_ms, 1)),
    failed: rows.filter((r) => r.failed).length,
    ...ms(lat),
    page_errors: joined.log.pageErrors.length, console_errors: joined.log.errors.length,
  };
  log(`posts: ${JSON.stringify(report.posts)}`);
}

