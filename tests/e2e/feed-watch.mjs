// Watches a relay's feed until a line that came from Matrix shows up, for
// `scripts/demo.sh --check`: a message with source "matrix", a Matrix user
// id as sender_id and an avatar (the demo's chatters all have one), in the
// snapshot of a fresh connection or as a live frame; then fetches that
// avatar from the relay, which must answer with an image. Prints what it saw
// and exits 0; exits 1 with a reason after the timeout or a failed avatar.
// Reconnects (every 0.5 s) while the relay is not up yet.
//
// Usage: node feed-watch.mjs WS_URL [TIMEOUT_SECONDS]   (default 90)
import WebSocket from 'ws';

const [url, timeoutArg = '90'] = process.argv.slice(2);
if (!url || !/^wss?:\/\//.test(url) || !(Number(timeoutArg) > 0)) {
  console.error('usage: node feed-watch.mjs ws://HOST:PORT/feed/CHANNEL [TIMEOUT_SECONDS]');
  process.exit(2);
}
const started = Date.now();
const deadline = started + Number(timeoutArg) * 1000;
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

const sources = {}; // lines seen by source
const bridgeStates = []; // `bridge` frames, in order
let frames = 0;
let connections = 0;
let lastError = '';

const isMatrix = (m) => m?.source === 'matrix' && typeof m.sender_id === 'string' && m.sender_id.startsWith('@')
  && typeof m.avatar === 'string' && m.avatar.startsWith('/media/');

let done = false; // a line was found; later frames are ignored

async function found(message, how) {
  if (done) return;
  done = true;
  const count = Object.entries(sources).map(([s, n]) => `${s} ${n}`).join(', ');
  console.log(`feed-watch: a Matrix line after ${seconds()} s (${how}): ` +
    `${message.sender} (${message.sender_id}): ${JSON.stringify(message.body)}`);
  console.log(`feed-watch: ${frames} frames; lines by source: ${count}; ` +
    `bridge states: ${bridgeStates.join(' → ') || 'none'}`);
  const avatar = new URL(message.avatar, url.replace(/^ws/, 'http'));
  const res = await fetch(avatar).catch((e) => ({ ok: false, status: e.message, headers: new Headers() }));
  const type = res.headers.get('content-type') ?? '';
  const bytes = res.ok ? (await res.arrayBuffer()).byteLength : 0;
  if (!res.ok || !type.startsWith('image/') || bytes === 0) {
    console.error(`feed-watch: the avatar ${avatar.pathname} was not served: ${res.status} ${type}`);
    process.exit(1);
  }
  console.log(`feed-watch: avatar ${avatar.pathname}: ${type}, ${bytes} bytes`);
  process.exit(0);
}

function connect() {
  if (Date.now() >= deadline) {
    const count = Object.entries(sources).map(([s, n]) => `${s} ${n}`).join(', ') || 'none';
    console.error(`feed-watch: no line from Matrix on ${url} within ${timeoutArg} s ` +
      `(${connections} connections, ${frames} frames; lines by source: ${count}; ` +
      `bridge states: ${bridgeStates.join(' → ') || 'none'}${lastError ? `; last error: ${lastError}` : ''})`);
    process.exit(1);
  }
  const ws = new WebSocket(url);
  const timer = setTimeout(() => ws.terminate(), Math.max(0, deadline - Date.now()));
  ws.on('open', () => { connections += 1; });
  ws.on('message', (data) => {
    frames += 1;
    let frame;
    try { frame = JSON.parse(data.toString()); } catch { return; }
    const lines = frame.type === 'snapshot' ? frame.messages ?? []
      : frame.type === 'message' ? [frame.message] : [];
    for (const m of lines) {
      sources[m?.source ?? '?'] = (sources[m?.source ?? '?'] ?? 0) + 1;
    }
    if (frame.type === 'bridge') bridgeStates.push(frame.state);
    const hit = lines.find(isMatrix);
    if (hit) found(hit, frame.type === 'snapshot' ? `in the snapshot, seq ≤ ${frame.seq}` : `live, seq ${frame.seq}`);
  });
  ws.on('error', (err) => { lastError = err.message; });
  ws.on('close', () => {
    clearTimeout(timer);
    setTimeout(connect, 500);
  });
}

connect();
