"""The clustered-mode section of bench/out/REPORT.md (bench_report.py prints
it): chyron-bench-cluster's runs, bench/out/cluster-RATE-*.json. Two relay
nodes on Redis, one relay alone and the Node.js `ws` baseline under the same
viewers and posts, side by side; and the failover run (one node killed)."""
import json


def ms_(x):
    return "—" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def server_of(r):
    """What a run measured, in words."""
    if r.get("server") == "node":
        return "Node.js `ws` (bench/ws-baseline)"
    return f"{r['nodes']} relay" + ("s + Redis" if r["redis"] else "")


def clustered(files):
    """Viewers split across relay nodes sharing one Redis, beside the same
    viewers on one relay without Redis (bench/out/cluster-{2nodes,1node}-RUN.json,
    chyron-bench-cluster): one row per run."""
    runs = [json.loads(p.read_text()) for p in files]
    print("""
## Clustered mode

chyron-bench-cluster: a throwaway Redis (scripts/redis.sh, unix socket, no persistence), two
release relays sharing it (`--redis`), the websocket viewers split evenly across them, run by
viewer processes of their own (≤ 15,000 sockets each); messages posted through the Chat API
at a fixed rate, through node 0, 1, 0, … in turn, so both nodes number events through Redis.
Beside it, the same viewers and posts on one relay without Redis (today's mode) and on a plain
Node.js `ws` broadcast server, the same client. Each viewer checks every frame's seq (gaps: seq jumped; duplicates: seq not above the
last) and times post call's start → frame (the post time rides in the body). Latency "own /
other node": messages posted through the viewer's node / through the other one. RSS per
viewer: node's VmRSS with its viewers connected minus before them, ÷ its viewers. CPU: user +
system over first post → last result, % of one core; all processes share the 2 cores.
""")
    print("| run | nodes | viewers × msgs | delivered / expected | p50 / p99 / max ms | p99 own / other node | gaps / missing / dups / lagged | RSS per viewer (per node) | CPU relays | CPU Redis | CPU viewer procs | posts failed | load 1-min |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        nodes = r["relays"]
        own, other = r["latency_posted_on_own_node"], r["latency_posted_on_other_node"]
        other_p99 = ms_(other["p99_ms"]) if other["deliveries"] else "—"
        redis = r.get("redis_server")
        dead = [str(n["node"]) for n in nodes if not n["alive_at_end"]]
        checks = (f"{r['gaps']} / {r['missing_seqs']} / {r['duplicates'] + r['duplicate_messages']} / {r['lagged_resyncs']}"
                  + (f", seq mismatches {r['seq_mismatches']}" if r["seq_mismatches"] else ""))
        through = "" if r.get("post_node") is None else f", all posted through node {r['post_node']}"
        died = f" (node {', '.join(dead)} killed)" if r.get("failover") else f" (node {', '.join(dead)} died)"
        where = server_of(r) + through + (died if dead else "")
        per_viewer = " / ".join(f"{n['rss_kib_per_viewer']:.1f}" for n in nodes)
        split = " / ".join(f"{n['viewers']:,}" for n in nodes)
        cpu_relays = " / ".join(f"{n['cpu_pct']:.0f}" for n in nodes)
        cpu_redis = f"{redis['cpu_pct']:.1f} %" if redis else "—"
        cpu_clients = " / ".join(f"{c['cpu_pct']:.0f}" for c in r["viewer_clients"])
        print(f"| {r['label'] or '—'}, {r['rate_per_s']} msg/s | {where} | {r['viewers']:,} × {r['messages']:,} at {r['rate_per_s']}/s | "
              f"{r['deliveries']:,} / {r['expected_deliveries']:,} | "
              f"{ms_(r['latency_ms_p50'])} / {ms_(r['latency_ms_p99'])} / {ms_(r['latency_ms_max'])} | "
              f"{ms_(own['p99_ms'])} / {other_p99} | {checks} | {per_viewer} KiB ({split} viewers) | {cpu_relays} % | "
              f"{cpu_redis} | {cpu_clients} % (poster {r['poster_cpu_pct']:.0f} %) | "
              f"{r['posts_failed']} | {r['loadavg_start'][0]:.1f} → {r['loadavg_end'][0]:.1f} |")
    print("\n| run | nodes | viewers connected in | relay RSS idle → connected → peak (per node) | Redis RSS peak | post call p50 / p99 | relay log: warnings / pub/sub reconnects (per node) |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        rss = " / ".join(f"{n['rss_kib_idle'] / 1024:.1f} → {n['rss_kib_connected'] / 1024:.1f} → {n['rss_kib_peak'] / 1024:.1f} MiB" for n in r["relays"])
        redis = r.get("redis_server")
        redis_rss = f"{redis['rss_kib_peak'] / 1024:.1f} MiB" if redis else "—"
        logs = "; ".join(f"node {n['node']}: {n.get('log_warnings', '?')} / {n.get('pubsub_reconnects', '?')}" for n in r["relays"])
        print(f"| {r['label'] or '—'}, {r['rate_per_s']} msg/s | {r['nodes']} | {r['connect_seconds']:.1f} s | {rss} | "
              f"{redis_rss} | {ms_(r['post_call_ms_p50'])} / {ms_(r['post_call_ms_p99'])} ms | {logs} |")


def side_by_side(runs):
    """The same viewers and posts on two nodes, one relay and Node's `ws`."""
    plain = [r for r in runs if r.get("post_node") is None and not r.get("failover")]
    if not any(r.get("server") == "node" for r in plain):
        return
    print("""
### Side by side: two nodes, one relay, a plain Node.js `ws` server

The same viewer processes and posts against each server in turn (the Node.js baseline is
`bench/ws-baseline`, as chyron-bench-fanout runs it: one process, no Redis, stores nothing).
Server CPU: relays (+ Redis) together, % of one core.
""")
    print("| run | server | delivered / expected | p50 / p99 / max ms | RSS per viewer | server CPU | gaps / dups |")
    print("|---|---|---|---|---|---|---|")
    for r in plain:
        redis = (r.get("redis_server") or {}).get("cpu_pct") or 0
        cpu = sum(n["cpu_pct"] for n in r["relays"]) + redis
        per_viewer = " / ".join(f"{n['rss_kib_per_viewer']:.1f}" for n in r["relays"])
        print(f"| {r['label'] or '—'}, {r['viewers']:,} viewers, {r['rate_per_s']} msg/s | {server_of(r)} | "
              f"{r['deliveries']:,} / {r['expected_deliveries']:,} | "
              f"{ms_(r['latency_ms_p50'])} / {ms_(r['latency_ms_p99'])} / {ms_(r['latency_ms_max'])} | "
              f"{per_viewer} KiB | {cpu:.0f} % | {r['gaps']} / {r['duplicates'] + r['duplicate_messages']} |")


def failovers(runs):
    """The runs that killed a node under load."""
    runs = [r for r in runs if r.get("failover")]
    if not runs:
        return
    print("""
### Failover: one node killed under load

Partway through the posts the benchmark kills one relay node (`kill -9`, the PID it started).
Its viewers reconnect to the other node with the widget's resume (`?epoch=E&since=N`, after
the widget's jittered backoff: a random wait in [0, 500 ms] first); posts from then on go
through the surviving node. Back: the resumed socket open, timed from the kill and from the
viewer's own socket closing; first frame: the first event (a missed one resent, or live) on
it. Fresh snapshots: resumes the surviving node could not serve. Gaps and duplicates: every
viewer's seqs across the whole run, the reconnect included.
""")
    print("| run | viewers on the killed node | back / failed | back since kill p50 / p99 / max | since own socket closed p50 / p99 / max | first frame since kill p50 / p99 / max | fresh snapshots | gaps / missing / dups (all viewers) | delivered / expected |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        f = r["failover"]

        def three(x):
            return f"{ms_(x['p50_ms'])} / {ms_(x['p99_ms'])} / {ms_(x['max_ms'])} ms"
        print(f"| {r['label'] or '—'}, {r['viewers']:,} viewers, {r['rate_per_s']} msg/s, node {f['killed_node']} killed | "
              f"{f['viewers_on_killed_node']:,} | {f['viewers_back']:,} / {f['reconnect_failed']:,} | "
              f"{three(f['back_since_kill'])} | {three(f['back_since_socket_closed'])} | {three(f['first_frame_since_kill'])} | "
              f"{f['fresh_snapshots']:,} | {r['gaps']} / {r['missing_seqs']} / {r['duplicates'] + r['duplicate_messages']} | "
              f"{r['deliveries']:,} / {r['expected_deliveries']:,} |")


def cluster_order(p):
    """By rate, then run (cluster, one relay, Node), the via-node-0 and
    failover runs last."""
    r = json.loads(p.read_text())
    return (r["rate_per_s"], r.get("post_node") is not None, bool(r.get("failover")), r["label"],
            r["nodes"] == 1, r.get("server") == "node")


def report(out):
    """Prints the section, if bench/out holds any cluster run."""
    files = sorted(out.glob("cluster-*.json"), key=cluster_order)
    if files:
        clustered(files)
        runs = [json.loads(p.read_text()) for p in files]
        side_by_side(runs)
        failovers(runs)
