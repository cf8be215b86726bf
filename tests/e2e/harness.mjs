// Shared by the end-to-end tests and the benchmark: start the real relay
// binary on a free loopback port, talk to its HTTP API, drive Debian's
// Chromium. Everything started here is stopped by PID.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RELAY_BIN = process.env.CHYRON_RELAY_BIN ?? join(ROOT, 'target', 'release', 'chyron-relay');
// CHYRON_DIST: another build of the widget (e.g. a baseline to compare with).
export const DIST = process.env.CHYRON_DIST ?? join(ROOT, 'dist');
export const TOKEN = 'e2e-token-0123456789';

/** Starts `chyron-relay` and resolves once it printed its address. */
export async function startRelay({ args = [], env = {}, data, listen = '127.0.0.1:0' } = {}) {
  const dataDir = data ?? mkdtempSync(join(tmpdir(), 'chyron-e2e-'));
  const child = spawn(RELAY_BIN, ['--listen', listen, '--data', dataDir, '--dist', DIST, ...args], {
    env: { ...process.env, CHYRON_API_TOKEN: TOKEN, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`relay did not start: ${stderr}`)), 15000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`relay exited ${code}: ${stderr}`)); });
  });
  const exited = new Promise((ok) => child.on('exit', ok));
  return {
    url,
    pid: child.pid,
    dataDir,
    stderr: () => stderr,
    /** Stops the relay (SIGTERM, or the given signal) and waits for it. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    /** Removes the data directory if this harness made it. */
    cleanup() { if (!data) rmSync(dataDir, { recursive: true, force: true }); },
  };
}

/** Calls the Chat API; resolves to { status, body }. */
export async function api(relay, method, path, body, token = TOKEN) {
  const res = await fetch(relay.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: res.status, body: json };
}

/** Posts a message and fails loudly unless the relay acknowledged it. */
export async function post(relay, channel, sender, body) {
  const res = await api(relay, 'POST', `/api/v1/channels/${channel}/messages`, { sender, body });
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** Launches Debian's Chromium, headless, never a downloaded browser. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** Collects console errors and page errors of a page, for assertions. */
export function watchConsole(page) {
  const log = { errors: [], warnings: [], pageErrors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(m.text());
    if (m.type() === 'warning') log.warnings.push(m.text());
  });
  page.on('pageerror', (e) => log.pageErrors.push(String(e)));
  return log;
}

/** The texts of the caption lines shown in the first (or given) widget. */
export async function captionTexts(page, selector = 'chyron-chat') {
  return page.evaluate((sel) => {
    const root = document.querySelector(sel)?.shadowRoot;
    if (!root) return null;
    return [...root.querySelectorAll('[part~="caption"]')].map((line) => ({
      sender: line.querySelector('[part~="caption-sender"]')?.textContent ?? null,
      body: line.querySelector('[part~="caption-body"]')?.textContent ?? null,
    }));
  }, selector);
}

/** Waits until `predicate(captions)` holds, polling the shadow DOM. */
export async function waitForCaptions(page, predicate, { timeout = 10000, selector } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await captionTexts(page, selector);
    if (last && predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`captions never matched; last seen: ${JSON.stringify(last)}`);
}

/**
 * Records, in the page's `window.__seen`, each caption body as it first
 * appears: `[text, epoch ms]` (for latency benchmarks).
 */
export async function recordCaptionTimes(page) {
  await page.evaluate(() => {
    window.__seen = [];
    const root = document.querySelector('chyron-chat').shadowRoot;
    new MutationObserver(() => {
      const t = performance.timeOrigin + performance.now();
      for (const body of root.querySelectorAll('[part~="caption-body"]')) {
        if (!body.__seen) { body.__seen = true; window.__seen.push([body.textContent, t]); }
      }
    }).observe(root, { childList: true, subtree: true, characterData: true });
  });
}

/**
 * A stream site on another origin than the relay's: serves the HTML in
 * `pages` (path → html) on a free port, at "localhost" rather than 127.0.0.1
 * so its origin differs from the relay's. Returns `{ url, close }`.
 */
export async function startHostSite(pages) {
  const server = createServer((req, res) => {
    const html = pages.get(req.url);
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://localhost:${server.address().port}`, close: () => server.close() };
}
