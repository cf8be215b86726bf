// The fan-out benchmark's baseline: what a team would write in an afternoon
// instead of the relay. One process, the npm `ws` package's server, the
// broadcast loop from ws's README. It speaks just enough of the relay's shape
// for chyron-bench-fanout to measure both with the same client:
//   GET  /feed/{channel}?limit=N   websocket: a snapshot frame of the last N
//                                  messages, then one `message` frame per post
//   POST /api/v1/channels/{channel}/messages  {"sender","body"} with
//                                  `Authorization: Bearer $CHYRON_API_TOKEN`:
//                                  broadcast, then 201 with the message
// Nothing is stored: it keeps the last 200 messages per channel in memory.
// Usage: node server.mjs [--listen 127.0.0.1:0]   (prints "listening on URL")
import http from "node:http";
import { randomBytes } from "node:crypto";
import { WebSocketServer, WebSocket } from "ws";

const args = process.argv.slice(2);
const listenArg = args[args.indexOf("--listen") + 1] ?? "127.0.0.1:0";
const [host, port] = args.includes("--listen") ? listenArg.split(":") : ["127.0.0.1", "0"];
const token = process.env.CHYRON_API_TOKEN ?? "";
const KEEP = 200;

/** Channels by name: seq, epoch, the last messages, the open sockets. */
const channels = new Map();
function channel(name) {
  let ch = channels.get(name);
  if (!ch) {
    ch = { seq: 0, epoch: randomBytes(8).toString("hex"), recent: [], sockets: new Set() };
    channels.set(name, ch);
  }
  return ch;
}

const feedPath = /^\/feed\/([A-Za-z0-9_-]{1,64})$/;
const postPath = /^\/api\/v1\/channels\/([A-Za-z0-9_-]{1,64})\/messages$/;

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const post = postPath.exec(url.pathname);
  if (req.method !== "POST" || !post) return reply(res, 404, { error: { code: "not_found" } });
  if (req.headers.authorization !== `Bearer ${token}`) return reply(res, 401, { error: { code: "unauthorized" } });
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(res, 400, { error: { code: "bad_request" } });
    }
    if (typeof body.sender !== "string" || typeof body.body !== "string") {
      return reply(res, 422, { error: { code: "invalid_field" } });
    }
    const ch = channel(post[1]);
    const seq = ++ch.seq;
    const message = { id: `m${seq}`, sender: body.sender, sender_id: body.sender, body: body.body, ts: Date.now(), source: "api" };
    ch.recent.push(message);
    if (ch.recent.length > KEEP) ch.recent.shift();
    // Serialized and encoded once; ws frames it for each socket (as text).
    const data = Buffer.from(JSON.stringify({ type: "message", seq, message }));
    for (const ws of ch.sockets) {
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: false });
    }
    reply(res, 201, { id: message.id, seq, channel: post[1], message });
  });
});

const wss = new WebSocketServer({ noServer: true });
server.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://x");
  const feed = feedPath.exec(url.pathname);
  if (!feed) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const ch = channel(feed[1]);
    const limit = Math.min(Math.max(Number(url.searchParams.get("limit")) || 50, 1), KEEP);
    ch.sockets.add(ws);
    ws.on("close", () => ch.sockets.delete(ws));
    ws.on("error", () => ch.sockets.delete(ws));
    ws.send(JSON.stringify({
      type: "snapshot", channel: feed[1], epoch: ch.epoch, seq: ch.seq, reason: "initial",
      messages: ch.recent.slice(-limit),
    }));
  });
});

server.listen(Number(port), host, () => {
  const a = server.address();
  console.log(`listening on http://${a.address}:${a.port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
