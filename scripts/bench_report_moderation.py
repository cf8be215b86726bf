"""The moderation section of bench/out/REPORT.md (bench_report.py prints
it): chyron-bench-moderation's run, bench/out/moderation.json. Each
moderation action (delete, timeout, ban) timed from its request's start to
the frame that shows it at every overlay viewer."""
import json


def ms_(x):
    return "—" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def report(out):
    path = out / "moderation.json"
    if not path.exists():
        return
    r = json.loads(path.read_text())
    print(f"""
## Moderation: action → every overlay viewer

chyron-bench-moderation: a release relay (`moderation_notices = true` for the channel), {r['viewers']:,}
websocket viewers on its feed, {r['lines']} lines posted through the Chat API by different senders,
then {r['actions']} moderation actions through the API token, {r['spacing_ms']} ms apart, in turn: a delete
(`DELETE …/moderation/messages/{{id}}` → `delete` frame), a timeout (`POST …/timeouts` → the
relay's notice line, a `message` frame) and a ban (`POST …/bans` → `clear` frame). Latency: the
request's start → the frame at each viewer, over every (action, viewer) pair; "answer": the
request's start → the API's 200. One run on a shared 2-core machine (load average
{r['load_1min']:.1f} at the end), the relay and the viewers on the same cores.
""")
    print("| actions | delivered / expected | p50 ms | p99 ms | max ms | answer p50 / max ms | refused |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("delete", "timeout", "ban", "all"):
        f = r["figures"].get(kind)
        if not f:
            continue
        name = f"**all {f['actions']}**" if kind == "all" else f"{kind} × {f['actions']}"
        print(f"| {name} | {f['deliveries']:,} / {f['expected']:,} | {ms_(f['p50_ms'])} | {ms_(f['p99_ms'])} | "
              f"{ms_(f['max_ms'])} | {ms_(f['answer_p50_ms'])} / {ms_(f['answer_max_ms'])} | {f['refused']} |")
    goal = "met" if r["p99_within_goal"] else "**not met**"
    print(f"\nGoal p99 ≤ {r['goal_p99_ms']:,.0f} ms over all pairs: {goal}. Every frame delivered: "
          f"{'yes' if r['all_delivered'] else '**no**'}; repeats {r['repeats']}, lagged resyncs {r['lagged_resyncs']}. "
          f"Relay RSS {r['rss_kib_idle'] / 1024:.1f} MiB before the viewers, {r['rss_kib_connected'] / 1024:.1f} MiB "
          f"with them ({r['rss_kib_per_viewer']:.1f} KiB per viewer), {r['rss_kib_after'] / 1024:.1f} MiB after the actions; "
          f"relay CPU {r['cpu_server_pct']:.0f} % of a core during the actions.")
