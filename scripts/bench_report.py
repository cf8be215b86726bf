#!/usr/bin/env python3
"""Turns bench/out/*.json into a markdown report (the figures README quotes).
Each part is optional: `scripts/bench.sh matrix` writes only matrix.json."""
import json
import platform
import sys
from pathlib import Path

out = Path(sys.argv[1])


def load(name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


b, f, m = load("browser.json"), load("fanout.json"), load("matrix.json")
cpus = len([l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("processor")])
dates = ", ".join(f"{what} {x['date']}" for what, x in (("browser", b), ("matrix", m)) if x)

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
