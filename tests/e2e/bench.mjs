// Browser benchmark: page load → first caption (cold, cache disabled), what a
// viewer's Chromium downloads before the first caption, post → caption-in-DOM
// latency, and a 200 msg/s burst.
// Prints the figures and writes bench/out/browser.json. Not a test: it asserts
// nothing, it measures. Run by scripts/bench.sh.
// CHYRON_BENCH_LOADS: cold loads for the first-caption figure (default 5).
// CHYRON_BENCH_ONLY=first_caption,download (any of those and latency, burst):
// only those figures, printed, no file written.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, DIST, startRelay, post, launchBrowser, recordCaptionTimes } from './harness.mjs';

const OUT = join(ROOT, 'bench', 'out');
mkdirSync(OUT, { recursive: true });
const now = () => performance.timeOrigin + performance.now();
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.round((s.length - 1) * p)] : NaN;
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const relay = await startRelay({
  args: ['--rate-limit-per-second', '100000', '--rate-limit-burst', '100000'],
});
const browser = await launchBrowser();
const report = { date: new Date().toISOString() };
const only = process.env.CHYRON_BENCH_ONLY?.split(',');
const run = (name) => !only || only.includes(name);

/** Opens the overlay page and starts recording when caption lines appear. */
async function openOverlay(channel, query = '', { network = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  // Network events cost the page time per websocket frame: only the size
  // measurement listens to them.
  if (network) await cdp.send('Network.enable');
  const responses = new Map();
  cdp.on('Network.responseReceived', (e) => responses.set(e.requestId, {
    url: e.response.url, encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? 'identity',
  }));
  cdp.on('Network.loadingFinished', (e) => {
    const r = responses.get(e.requestId);
    if (r) { r.bytes = e.encodedDataLength; r.at = now(); }
  });
  await page.goto(`${relay.url}/overlay/${channel}${query}`);
  await page.waitForFunction(() => document.querySelector('chyron-chat')?.shadowRoot?.querySelector('[part~="captions"]'));
  await recordCaptionTimes(page);
  return { context, page, cdp, responses };
}

// 0. Page load → first caption in the DOM: the overlay of a channel that
// already has a line, each load in a fresh browser context with the cache
// disabled. Time from navigation start (performance.timeOrigin) to the
// first caption line in the widget's shadow root.
if (run('first_caption')) {
  const loads = [];
  await post(relay, 'first', 'Ada', 'already said');
  const n = Number(process.env.CHYRON_BENCH_LOADS ?? 5);
  for (let i = 0; i < n; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.addInitScript(() => {
      const attach = Element.prototype.attachShadow;
      Element.prototype.attachShadow = function (init) {
        const root = attach.call(this, init);
        const seen = new MutationObserver(() => {
          if (root.querySelector('[part~="caption-body"]')) {
            window.__firstCaption ??= performance.now();
            seen.disconnect();
          }
        });
        seen.observe(root, { childList: true, subtree: true });
        return root;
      };
    });
    await page.goto(`${relay.url}/overlay/first?fade=60`);
    await page.waitForFunction(() => window.__firstCaption !== undefined, null, { timeout: 10000 });
    loads.push(round(await page.evaluate(() => window.__firstCaption), 1));
    await context.close();
  }
  report.first_caption_ms = { loads, median: round(pct(loads, 0.5), 1), worst: Math.max(...loads) };
}

// 1. Bytes before the first caption.
if (run('download')) {
  const { context, page, responses } = await openOverlay('size', '', { network: true });
  await post(relay, 'size', 'Ada', 'first caption');
  await page.waitForFunction(() => window.__seen.length > 0);
  const firstCaptionAt = await page.evaluate(() => window.__seen[0][1]);
  const assets = [...responses.values()].filter((r) => r.bytes !== undefined && r.at <= firstCaptionAt + 1);
  const brotliOf = (url) => {
    const file = join(DIST, new URL(url).pathname);
    if (!existsSync(file) || new URL(url).pathname === '/') return null;
    return execFileSync('brotli', ['-c', '-q', '11', file]).length;
  };
  report.download = assets.map((r) => ({
    path: new URL(r.url).pathname, transferred: r.bytes, encoding: r.encoding, brotli_q11: brotliOf(r.url),
  }));
  report.download_transferred_bytes = assets.reduce((s, r) => s + r.bytes, 0);
  report.download_brotli_bytes = report.download.reduce((s, r) => s + (r.brotli_q11 ?? r.transferred), 0);
  await context.close();
}

// 2. Post → caption-in-DOM latency, one viewer, 20 msg/s.
if (run('latency')) {
  const { context, page } = await openOverlay('latency', '?lines=3&fade=60');
  // Warm-up (JIT, wasm tier-up, connection pools), not measured.
  for (let i = 0; i < 30; i++) await post(relay, 'latency', 'bench', `warm ${i}`);
  await page.waitForFunction(() => window.__seen.some(([b]) => b === 'warm 29'));
  const sent = new Map();
  for (let i = 0; i < 300; i++) {
    const body = `lat ${i}`;
    sent.set(body, now());
    await post(relay, 'latency', 'bench', body);
    await new Promise((r) => setTimeout(r, 50));
  }
  await page.waitForFunction(() => window.__seen.some(([b]) => b === 'lat 299'), null, { timeout: 10000 });
  const seen = await page.evaluate(() => window.__seen);
  const lat = seen.filter(([b]) => sent.has(b)).map(([b, t]) => t - sent.get(b));
  report.latency = { samples: lat.length, p50_ms: round(pct(lat, 0.5)), p99_ms: round(pct(lat, 0.99)), max_ms: round(Math.max(...lat)) };
  await context.close();
}

// 3. A 200 msg/s burst for 10 s: longest task, DOM nodes, heap growth.
if (run('burst')) {
  const { context, page, cdp } = await openOverlay('burst', '?lines=3&fade=8');
  await page.evaluate(() => {
    window.__longest = 0;
    window.__maxNodes = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: false });
    const count = () => document.querySelectorAll('*').length + document.querySelector('chyron-chat').shadowRoot.querySelectorAll('*').length;
    window.__nodes = count;
    setInterval(() => { window.__maxNodes = Math.max(window.__maxNodes, count()); }, 50);
  });
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
  const heapBefore = await heap();
  const nodesBefore = await page.evaluate(() => window.__nodes());
  const sent = new Map();
  const start = now();
  const pending = [];
  for (let i = 0; i < 2000; i++) {
    const due = start + i * 5;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = `burst ${i}`;
    sent.set(body, now());
    pending.push(post(relay, 'burst', `viewer${i % 40}`, body));
  }
  await Promise.all(pending);
  const postSeconds = (now() - start) / 1000;
  await page.waitForFunction(() => window.__seen.some(([b]) => b === 'burst 1999'), null, { timeout: 20000 });
  const seen = await page.evaluate(() => window.__seen);
  const lat = seen.filter(([b]) => sent.has(b)).map(([b, t]) => t - sent.get(b));
  await new Promise((r) => setTimeout(r, 9000)); // every line has faded
  const heapAfter = await heap();
  const after = await page.evaluate(() => ({ longest: window.__longest, maxNodes: window.__maxNodes, nodes: window.__nodes() }));
  report.burst = {
    messages: 2000, seconds: round(postSeconds), rendered: lat.length,
    latency_p50_ms: round(pct(lat, 0.5)), latency_p99_ms: round(pct(lat, 0.99)),
    longest_task_ms: round(after.longest), dom_nodes_before: nodesBefore, dom_nodes_max: after.maxNodes,
    dom_nodes_after: after.nodes, heap_before_kib: round(heapBefore / 1024, 0), heap_after_kib: round(heapAfter / 1024, 0),
    heap_growth_kib: round((heapAfter - heapBefore) / 1024, 0),
  };
  await context.close();
}

await browser.close();
await relay.stop();
relay.cleanup();
if (!only) writeFileSync(join(OUT, 'browser.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report, null, 2));
