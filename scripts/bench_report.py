#!/usr/bin/env python3
"""Turns bench/out/*.json into a markdown report (the figures README quotes).
Each part is optional: `scripts/bench.sh matrix` writes only matrix.json,
`scripts/bench.sh chat` only chat.json, `scripts/bench.sh hostile` only
hostile.json."""
import json
import platform
import sys
from pathlib import Path

out = Path(sys.argv[1])


def load(name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


def first_caption(x):
    """(median, worst, loads) of the cold page loads' first caption, whether
    browser.json gives the loads as a list or an object with a summary."""
    if isinstance(x, dict):
        loads = x.get("loads") or x.get("samples") or x.get("runs") or []
        med = next((x[k] for k in ("median_ms", "median", "p50_ms") if isinstance(x.get(k), (int, float))), None)
        worst = next((x[k] for k in ("worst_ms", "worst", "max_ms", "max") if isinstance(x.get(k), (int, float))), None)
    else:
        loads, med, worst = x if isinstance(x, list) else [], None, None
    loads = [v for v in loads if isinstance(v, (int, float))]
    if loads:
        srt = sorted(loads)
        mid = len(srt) // 2
        med = med if med is not None else (srt[mid] if len(srt) % 2 else (srt[mid - 1] + srt[mid]) / 2)
        worst = worst if worst is not None else srt[-1]
    if med is None or worst is None:
        return None
    return med, worst, len(loads) or "?"


b, f, m, c = load("browser.json"), load("fanout.json"), load("matrix.json"), load("chat.json")
cpus = len([l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("processor")])
dates = ", ".join(f"{what} {x['date']}" for what, x in (("browser", b), ("matrix", m), ("chat", c)) if x)

print(f"# Chyron benchmark report\n\n{dates or 'no date'} on {platform.machine()}, {cpus} cores, loopback; "
      "relay, Synapse, Chromium and load generator share the machine.\n")
print("| figure | value | goal |\n|---|---|---|")
if b:
    d, lat, burst = b, b["latency"], b["burst"]
    print(f"| overlay download before first caption, brotli (q11) | {d['download_brotli_bytes'] / 1024:.1f} KiB | ≤ 60 KB |")
    print(f"| same, as transferred by the relay on loopback | {d['download_transferred_bytes'] / 1024:.1f} KiB | |")
    print(f"| post → caption in DOM, 1 viewer, p50 / p99 | {lat['p50_ms']} / {lat['p99_ms']} ms | p99 ≤ 20 ms |")
    print(f"| 200 msg/s for 10 s: rendered, p50 / p99 latency | {burst['rendered']} of {burst['messages']}, "
          f"{burst['latency_p50_ms']} / {burst['latency_p99_ms']} ms | |")
    longest = burst['longest_task_ms']
    print(f"| burst: longest task | {f'{longest} ms' if longest else 'none ≥ 50 ms (no long task)'} | |")
    print(f"| burst: DOM nodes before / max / after | {burst['dom_nodes_before']} / {burst['dom_nodes_max']} / {burst['dom_nodes_after']} | bounded |")
    print(f"| burst: JS heap growth after GC | {burst['heap_growth_kib']} KiB | |")
    first = first_caption(b.get("first_caption_ms"))
    if first:
        print(f"| page load → first caption, cache disabled, median / worst of {first[2]} cold loads | "
              f"{first[0]:.0f} / {first[1]:.0f} ms | median ≤ 150 ms, none > 250 ms |")
if f:
    print(f"| fan-out: {f['viewers']} viewers × {f['messages']} msgs at {f['rate_per_s']}/s: deliveries/s | {f['deliveries_per_s']:.0f} | |")
    print(f"| fan-out: delivered / expected | {f['deliveries']} / {f['expected_deliveries']} (lagged resyncs: {f['lagged_resyncs']}) | |")
    print(f"| fan-out: post → frame p50 / p99 / max | {f['latency_ms_p50']:.2f} / {f['latency_ms_p99']:.2f} / {f['latency_ms_max']:.2f} ms | |")
    print(f"| fan-out: relay RSS idle → {f['viewers']} viewers, per viewer | {f['rss_kib_idle'] / 1024:.1f} → {f['rss_kib_connected'] / 1024:.1f} MiB, {f['rss_kib_per_viewer']:.1f} KiB | |")
sat_path = out / "fanout-saturated.json"
if sat_path.exists():
    sat = json.loads(sat_path.read_text())
    print(f"| fan-out at saturation: {sat['viewers']} viewers × {sat['rate_per_s']} msg/s offered: deliveries/s | "
          f"{sat['deliveries_per_s']:.0f} (p99 {sat['latency_ms_p99']:.0f} ms, lagged resyncs {sat['lagged_resyncs']}) | |")
if c and c.get("sizes"):
    print(f"| full chat module download (wasm + JS), brotli | {c['sizes']['chat']['brotli_bytes'] / 1024:.1f} KiB | "
          f"≤ {c['sizes']['chat']['goal_brotli_kb']:,} KB |")
if c and (c.get("open_join") or {}).get("cold", {}).get("join_median_ms") is not None:
    x = c["open_join"]["cold"]
    print(f"| full chat: Join → composer, cold, median / max of {x['samples']} | {x['join_median_ms']:.0f} / {x['join_max_ms']:.0f} ms | median ≤ 1,500 ms |")


def ms_(x):
    return "—" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def lat(r):
    return f"{ms_(r.get('p50_ms'))} / {ms_(r.get('p99_ms'))} ms"


def cpu(r, k):
    v = (r.get("cpu") or {}).get(f"{k}_pct")
    return "—" if v is None else f"{v:.0f} %"


runs = {r["name"]: r for r in (m or {}).get("runs", [])}
many = next((r for r in runs.values() if r["path"] == "relay" and r.get("feed_viewers")), None)
if m:
    rate = f"{m['rate_per_s']:g} msg/s"
    one = runs.get("relay-1")
    if one:
        print(f"| Matrix send → caption in DOM, 1 feed viewer, {rate}, p50 / p99 | {lat(one['dom'])} "
              f"({one['dom']['samples']} of {m['messages']}) | |")
    if many:
        v = f"{many['feed_viewers']:,}"
        print(f"| same, with {v} feed viewers connected, p50 / p99 | {lat(many['dom'])} "
              f"({many['dom']['samples']} of {m['messages']}) | |")
        print(f"| same run: Matrix send → frame at all {v} viewers, p50 / p99 | {lat(many)} "
              f"({many['deliveries']:,} of {many['expected_deliveries']:,}) | |")
    for r in runs.values():
        if r["path"] == "direct" and r["receivers"] == 200:
            got = f"{r['messages_per_s']} msg/s, p99 {ms_(r.get('p99_ms'))} ms" if "deliveries" in r else r.get("note", "")
            print(f"| Synapse alone, 200 guests long-polling /sync at {rate} offered | {got} | |")
if b:
    print("\n## Downloads before the first caption\n\n| path | transferred | encoding | brotli q11 |\n|---|---|---|---|")
    for a in b["download"]:
        print(f"| {a['path']} | {a['transferred']} | {a['encoding']} | {a['brotli_q11'] if a['brotli_q11'] is not None else '—'} |")
if m:
    print(f"""
## Matrix: through the relay's bridge vs. Synapse serving every viewer

Synapse {m.get('synapse') or '?'} (SQLite, loopback). alice sends {m['messages']} m.text per run through
the client-server API at {m['rate_per_s']:g}/s (open loop). Latency: start of the send call → caption
in the page's DOM (relay-1), → frame at each feed viewer (relay-N), → the /sync response
that carries it at each guest (direct-N; guests stay joined from run to run). CPU: user +
system time over first send → last delivery, % of one core; the load generator is the
Node process driving viewers or guests. Lost: not delivered when the run ended.
""")
    print("| run | receivers | delivered / expected | deliveries/s | msg/s each | p50 / p99 / max | lost | Synapse CPU | relay CPU | load gen CPU | send call p50 / p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs.values():
        if "deliveries" not in r:
            print(f"| {r['name']} | {r['receivers']:,} | {r.get('note', '')} | | | | | | | | |")
            continue
        what = f"{r['receivers']:,}" + (" ws + 1 page" if r.get("feed_viewers") else " page" if r["path"] == "relay" else (" guest" if r["receivers"] == 1 else " guests"))
        done = "" if r["complete"] else f" ({r.get('note', 'did not complete')})"
        print(f"| {r['name']} | {what} | {r['deliveries']:,} / {r['expected_deliveries']:,}{done} | {r['deliveries_per_s']:,.1f} | "
              f"{r['messages_per_s']} | {lat(r)[:-3]} / {ms_(r.get('max_ms'))} ms | {r['lost']:,} | {cpu(r, 'synapse')} | "
              f"{cpu(r, 'relay')} | {cpu(r, 'loadgen')} | {ms_(r.get('send_call_p50_ms'))} / {ms_(r.get('send_call_p99_ms'))} ms |")

def kib(n):
    return "—" if n is None else f"{n / 1024:,.1f} KiB"


def full_chat(c):
    k = c.get("knobs", {})
    print(f"""
## Full chat

The chat module (chat/, matrix-sdk in the browser) on a stream page of another origin,
the relay bridging a loopback Synapse {c.get('synapse') or '?'} (SQLite), headless Chromium; {c.get('machine', {}).get('cpus', '?')} cores
shared by all of them. Open: click on Chat → the panel shown with lines; join: click on
Join (name filled in) → the composer shown; cold = a fresh browser context (empty HTTP
cache), warm = the same page reloaded with its storage cleared. Post: Enter → the line in
the log without "Sending…" (the relay's feed brought it back), timed in the page.
Private: two accounts made in the chat, each in a fresh browser context (a new device, no
keys); the second posts a public line, the first clicks its Message button: → the heading
naming the other person (the encrypted room created and synced), then Enter → the own line
confirmed; total = the two (the harness's typing left out), each run a fresh pair.
Chatters: Matrix guests posting round-robin through the client-server API; relay-feed:
each reads through a websocket on the relay's feed (as the chat module does); beside it,
each also runs the chat's private-message /sync (the bridged room's timeline filtered out;
the query the page sent, its timeout set per run): feed+private-idle as the chat does while
private messages are not in use (timeout=0, then 20 s before the next, the chatters spread
over the 20 s), feed+private-long-poll the worst case, as if every chatter had a private
conversation open or private activity in the last 2 min (timeout=30000: Synapse wakes each
on every public message); direct-sync: each long-polls /sync for the room instead; CPU over
first send → end of the run, % of one core.""")
    la = c.get("machine", {})
    if la.get("loadavg_start"):
        print(f"\nLoad average (1 / 5 / 15 min) at the start: {' / '.join(f'{x:.1f}' for x in la['loadavg_start'])}, at the end: "
              f"{' / '.join(f'{x:.1f}' for x in la.get('loadavg_end') or [])} (other work on the machine takes CPU from all of the above).")
    if c.get("error"):
        print(f"\n**The run failed:** {c['error']}")
    print("\n| figure | value | goal |\n|---|---|---|")
    sz = c.get("sizes")
    if sz:
        ch, ov = sz["chat"], sz["overlay"]
        before = f" (≤ {ch['goal_before_encryption_kb']:,} KB before encryption)" if ch.get("goal_before_encryption_kb") else ""
        print(f"| chat module download (wasm + JS), brotli | {kib(ch['brotli_bytes'])}, {ch['brotli_bytes']:,} bytes ({kib(ch['raw_bytes'])} raw) | "
              f"≤ {ch['goal_brotli_kb']:,} KB{before} |")
        for x in ch["files"]:
            print(f"| {x['path']}, brotli ({x['brotli_from']}) | {kib(x['brotli_bytes'])} ({kib(x['raw_bytes'])} raw) | |")
        print(f"| overlay download before first caption, brotli | {kib(ov['brotli_bytes'])} | ≤ {ov['goal_brotli_kb']} KB |")
    oj = c.get("open_join")
    if oj:
        failed = f", {oj['failed']} failed" if oj.get("failed") else ""
        for kind in ("cold", "warm"):
            x = oj.get(kind) or {}
            n = f"{x.get('samples', 0)} of {oj['runs']}{failed}"
            print(f"| open → panel with lines, {kind}, median / max ({n}) | {ms_(x.get('open_median_ms'))} / {ms_(x.get('open_max_ms'))} ms | |")
            goal = f"median ≤ {oj['goal_join_median_ms']:,} ms" if kind == "cold" else ""
            print(f"| join → composer, {kind}, median / max ({n}) | {ms_(x.get('join_median_ms'))} / {ms_(x.get('join_max_ms'))} ms | {goal} |")
    p = c.get("posts")
    if p and "delivered" in p:
        print(f"| post → confirmed line, {p['posts']} posts one every {p['interval_ms']} ms, p50 / p99 / max | "
              f"{ms_(p.get('p50_ms'))} / {ms_(p.get('p99_ms'))} / {ms_(p.get('max_ms'))} ms | |")
        print(f"| posts delivered / lost / failed | {p['delivered']} / {p['lost']} / {p['failed']} | all delivered |")
        long = f" (for {', '.join(f'{x:g}' for x in p['shown_twice_ms'])} ms)" if p.get("shown_twice_ms") else ""
        print(f"| posts shown twice: two confirmed rows / any two rows at once | {p['duplicates']} / {p['shown_twice']}{long} | 0 |")
    elif p:
        print(f"| posts | {p.get('note', '')} | |")
    private_rows(c.get("private"))
    ct = c.get("chatters")
    if ct:
        who = f"{ct.get('joined', 0):,} chatters, {ct['rate_per_s']:g} msg/s for {ct['seconds']} s"
        if "setup_s" not in ct:
            print(f"| {ct['chatters']:,} chatters | {ct.get('note', 'not run')} | |")
        else:
            print(f"| set-up: {ct.get('joined', 0):,} guests registered, named and joined | {ct.get('setup_s')} s{' (' + ct['note'] + ')' if ct.get('note') else ''} | |")
        for r in ct.get("runs", []):
            if "deliveries" not in r:
                print(f"| {r['name']}: {who} | {r.get('note', 'not run')} | |")
                continue
            done = "" if r["complete"] else " (did not complete)"
            print(f"| {r['name']} ({r['reads']}): Synapse CPU, {who} | {cpu(r, 'synapse')} | |")
            print(f"| {r['name']}: relay CPU / load generator CPU | {cpu(r, 'relay')} / {cpu(r, 'loadgen')} | |")
            print(f"| {r['name']}: send → delivered at every receiver, p50 / p99 / max | {lat(r)[:-3]} / {ms_(r.get('max_ms'))} ms "
                  f"(the send call alone: {ms_(r.get('send_call_p50_ms'))} / {ms_(r.get('send_call_p99_ms'))} ms) | |")
            print(f"| {r['name']}: delivered / expected{done} | {r['deliveries']:,} / {r['expected_deliveries']:,} | |")
            if "sync_responses_in_run" in r:
                took = (f"; each took {ms_(r['sync_call_p50_ms'])} / {ms_(r.get('sync_call_p99_ms'))} ms p50 / p99"
                        if r.get("sync_call_p50_ms") is not None else "")
                print(f"| {r['name']}: /sync responses during the run / carrying the bridged room | "
                      f"{r['sync_responses_in_run']:,} / {r['sync_responses_with_bridged_room']:,}{took} ({r.get('sync_query_from', '')}) | |")
        # "feed+private-sync": the long-polling run's name before the idle run was added.
        by = {("feed+private-long-poll" if r["name"] == "feed+private-sync" else r["name"]): r for r in ct.get("runs", [])}
        order = [("feed only", "relay-feed"), ("feed + idle private sync", "feed+private-idle"),
                 ("feed + long-polling private sync (worst case)", "feed+private-long-poll"), ("unfiltered /sync", "direct-sync")]
        got = [(label, by[n]) for label, n in order if "deliveries" in by.get(n, {})]
        if len(got) > 1:
            print(f"| {' / '.join(label for label, _ in got)}: Synapse CPU; public delivery p50; send call p50 | "
                  f"{' / '.join(cpu(r, 'synapse') for _, r in got)}; {' / '.join(ms_(r.get('p50_ms')) for _, r in got)} ms; "
                  f"{' / '.join(ms_(r.get('send_call_p50_ms')) for _, r in got)} ms | |")
        feed = by.get("relay-feed", {}).get("cpu", {}).get("synapse_pct")
        for n, what in (("feed+private-idle", "idle private syncs"), ("feed+private-long-poll", "long-polling private syncs")):
            both = by.get(n, {}).get("cpu", {}).get("synapse_pct")
            if feed is not None and both is not None and ct.get("rate_per_s"):
                per_msg = (both - feed) / 100 * 1000 / ct["rate_per_s"]
                per = (f"{per_msg:+.1f} ms per public message, {per_msg * 1000 / max(1, ct.get('joined', 1)):+,.0f} µs per chatter "
                       "(a lower bound when Synapse is starved of CPU: see its send calls)")
                r = by[n]
                if r.get("idle_poll_ms") and r.get("sync_responses_in_run"):
                    per = (f"{(both - feed) / 100 * 1000 * r['cpu']['window_s'] / r['sync_responses_in_run']:+.1f} ms per idle sync "
                           f"({r['sync_responses_in_run']:,} in {r['cpu']['window_s']:g} s)")
                print(f"| Synapse CPU the {what} add ({n} − relay-feed) | {both - feed:+.0f} points of a core: {per} | |")
        a, d = (by.get(n, {}).get("cpu", {}).get("synapse_pct") for n in ("relay-feed", "direct-sync"))
        if a and d:
            print(f"| Synapse CPU through Chyron ÷ serving every chatter itself | {a / d:.2f} | |")


def private_rows(pv):
    """Message → first private message sent, cold (bench-private.mjs)."""
    if not pv:
        return
    if not pv.get("samples"):
        print(f"| private: Message → first message sent | {pv.get('note') or 'no run completed'} | |")
        return
    n = f"{pv['samples']} of {pv['runs']}" + (f", {pv['failed']} failed" if pv.get("failed") else "")

    def mm(k):
        x = pv.get(k) or {}
        return f"{ms_(x.get('median_ms'))} / {ms_(x.get('max_ms'))} ms"

    print(f"| private: Message → first message sent, cold, median / max ({n}) | {mm('total')} | |")
    print(f"| private: Message → conversation shown (room created, encrypted, synced) | {mm('shown')} | |")
    print(f"| private: Enter → own line confirmed (room key shared, sent) | {mm('sent')} (shown pending after {mm('echo')}) | |")
    held = [f"{r['placeholder_ms']:.0f}" for r in pv.get("each", []) if r.get("placeholder_ms")]
    if held:
        print(f"| private: a placeholder heading (\"Notes\") before the conversation's, in runs | {len(held)} of {pv['samples']}, "
              f"for {', '.join(held)} ms | none |")
    print(f"| private: conversations end-to-end encrypted / drafts cleared before Enter (typed again) | "
          f"{pv.get('encrypted', 0)} of {pv['samples']} / {pv.get('retyped_runs', 0)} | all / 0 |")


def hostile(h, heading):
    phases = h["phases"]
    base = next((p for p in phases if p["name"] == "baseline"), None)

    def mib(kib):
        return f"{kib / 1024:.1f}"

    def pct(lat):
        if not lat or not lat.get("samples"):
            return "—"
        failed = f", {lat['failed']} failed" if lat.get("failed") else ""
        return f"{ms_(lat['p50_ms'])} / {ms_(lat['p99_ms'])}{failed}"

    label = f" ({h['label']})" if h.get("label") else ""
    print(f"""
{heading}{label}

A fresh release relay per row, default limits, started with an open-files soft limit of
{h['relay_nofile_at_start']:,} (as a service manager would give it; the relay may raise it). A normal user on
127.0.0.1: one connected viewer, messages posted through the Chat API at {h['rate_per_s']}/s, `GET /healthz`
every 100 ms on a fresh connection, a new viewer joining every 500 ms. The attack runs from
{h['attacker_addresses']} other loopback addresses for {h['seconds']} s, then closes its sockets. RSS: relay VmRSS
with the viewer connected before the attack → highest during it → {h['settle_seconds']} s after its sockets
closed. Latencies in ms, p50 / p99; a /healthz check or join not answered within 2 s counts as
failed (and as 2,000 ms); a caption never seen counts as lost (and as the whole wait).
""")
    print("| attack | relay RSS MiB before → peak → after | open files before → peak → after | /healthz p50 / p99 | post → caption p50 / p99 | new viewer → snapshot p50 / p99 | relay alive |")
    print("|---|---|---|---|---|---|---|")
    for p in phases:
        cap = p["caption"]
        lost = f", {cap['failed']} lost" if cap.get("failed") else ""
        posts = f", {p['posts_failed']} posts refused" if p.get("posts_failed") else ""
        caption = (f"{ms_(cap['p50_ms'])} / {ms_(cap['p99_ms'])}{lost}{posts}" if cap.get("samples") else "—")
        print(f"| {p['name']} | {mib(p['rss_kib_before'])} → {mib(p['rss_kib_peak'])} → {mib(p['rss_kib_after'])} | "
              f"{p['fds_before']:,} → {p['fds_peak']:,} → {p['fds_after']:,} | {pct(p['healthz'])} | {caption} | "
              f"{pct(p['join'])} | {'yes' if p['relay_alive'] else '**no**'} |")
    if base:
        print(f"\nBaseline post → caption p99: {ms_(base['caption']['p99_ms'])} ms; the rows above show the same figure under each attack.")
    print("\n| attack | what it did | counts |\n|---|---|---|")
    for p in phases:
        if p["name"] == "baseline":
            continue
        counts = ", ".join(f"{k} {v if not isinstance(v, dict) else ' '.join(f'{s}×{n:,}' for s, n in v.items())}"
                           for k, v in p["counts"].items())
        print(f"| {p['name']} | {p['attack']} | {counts} |")


if c:
    full_chat(c)

hostile_files = [("hostile.json", "## Hostile clients")] + [
    (p.name, f"### Same attacks, {p.stem[len('hostile-'):]}")
    for p in sorted(out.glob("hostile-*.json"))]
for name, heading in hostile_files:
    if load(name):
        hostile(load(name), heading)


def fanout_side_by_side(files):
    """The relay beside the Node.js `ws` baseline, same client, alternating
    runs (bench/out/fanout-{relay,node}-VIEWERS-RUN.json): each figure as its
    range over the runs."""
    runs = {}
    for p in files:
        r = json.loads(p.read_text())
        runs.setdefault((r["viewers"], r["rate_per_s"]), {}).setdefault(r["server"], []).append(r)

    def span(rs, key, fmt="{:.1f}"):
        vals = sorted(r[key] for r in rs)
        lo, hi = fmt.format(vals[0]), fmt.format(vals[-1])
        return lo if lo == hi else f"{lo}–{hi}"

    print("""
## Fan-out: the relay beside a plain Node.js `ws` server

The same client (chyron-bench-fanout) against each, runs alternating (relay, Node, relay, …),
each against a fresh server process; ranges over the runs. Latency: the post call's start → the
frame at each viewer. The relay commits each post to SQLite (`synchronous=FULL`) before any
viewer sees it; the baseline (bench/ws-baseline/server.mjs, ws's broadcast loop) stores nothing.
CPU: server process, user + system, first post → last delivery, % of one core.
""")
    print("| load | server | runs | delivered / expected | p50 ms | p99 ms | max ms | RSS per viewer | server CPU | client CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (viewers, rate), by in sorted(runs.items()):
        for server in ("relay", "node"):
            rs = by.get(server)
            if not rs:
                continue
            got = f"{sum(r['deliveries'] for r in rs):,} / {sum(r['expected_deliveries'] for r in rs):,}"
            print(f"| {viewers:,} viewers, {rate} msg/s | {server} | {len(rs)} | {got} | {span(rs, 'latency_ms_p50')} | "
                  f"{span(rs, 'latency_ms_p99')} | {span(rs, 'latency_ms_max')} | {span(rs, 'rss_kib_per_viewer')} KiB | "
                  f"{span(rs, 'cpu_server_pct', '{:.0f}')} % | {span(rs, 'cpu_client_pct', '{:.0f}')} % |")


side = sorted(out.glob("fanout-relay-*.json")) + sorted(out.glob("fanout-node-*.json"))
if side:
    fanout_side_by_side(side)


# Clustered mode, beside one relay and the Node.js `ws` baseline, and the
# failover run: bench_report_cluster.py.
import bench_report_cluster  # noqa: E402 (beside this script, on its path)

bench_report_cluster.report(out)

# Moderation actions → every overlay viewer: bench_report_moderation.py.
import bench_report_moderation  # noqa: E402 (beside this script, on its path)

bench_report_moderation.report(out)
