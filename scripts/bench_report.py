#!/usr/bin/env python3
"""Turns bench/out/*.json into a markdown report (the figures README quotes)."""
import json
import platform
import sys
from pathlib import Path

out = Path(sys.argv[1])
b = json.loads((out / "browser.json").read_text())
f = json.loads((out / "fanout.json").read_text())
cpus = len([l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("processor")])
d, lat, burst = b, b["latency"], b["burst"]

print(f"# Chyron benchmark report\n\n{b['date']} on {platform.machine()}, {cpus} cores, loopback; "
      "relay, Chromium and load generator share the machine.\n")
print("| figure | value | goal |\n|---|---|---|")
print(f"| overlay download before first caption, brotli (q11) | {d['download_brotli_bytes'] / 1024:.1f} KiB | ≤ 60 KB |")
print(f"| same, as transferred by the relay on loopback | {d['download_transferred_bytes'] / 1024:.1f} KiB | |")
print(f"| post → caption in DOM, 1 viewer, p50 / p99 | {lat['p50_ms']} / {lat['p99_ms']} ms | p99 ≤ 20 ms |")
print(f"| 200 msg/s for 10 s: rendered, p50 / p99 latency | {burst['rendered']} of {burst['messages']}, "
      f"{burst['latency_p50_ms']} / {burst['latency_p99_ms']} ms | |")
longest = burst['longest_task_ms']
print(f"| burst: longest task | {f'{longest} ms' if longest else 'none ≥ 50 ms (no long task)'} | |")
print(f"| burst: DOM nodes before / max / after | {burst['dom_nodes_before']} / {burst['dom_nodes_max']} / {burst['dom_nodes_after']} | bounded |")
print(f"| burst: JS heap growth after GC | {burst['heap_growth_kib']} KiB | |")
print(f"| fan-out: {f['viewers']} viewers × {f['messages']} msgs at {f['rate_per_s']}/s: deliveries/s | {f['deliveries_per_s']:.0f} | |")
print(f"| fan-out: delivered / expected | {f['deliveries']} / {f['expected_deliveries']} (lagged resyncs: {f['lagged_resyncs']}) | |")
print(f"| fan-out: post → frame p50 / p99 / max | {f['latency_ms_p50']:.2f} / {f['latency_ms_p99']:.2f} / {f['latency_ms_max']:.2f} ms | |")
print(f"| fan-out: relay RSS idle → {f['viewers']} viewers, per viewer | {f['rss_kib_idle'] / 1024:.1f} → {f['rss_kib_connected'] / 1024:.1f} MiB, {f['rss_kib_per_viewer']:.1f} KiB | |")
sat_path = out / "fanout-saturated.json"
if sat_path.exists():
    sat = json.loads(sat_path.read_text())
    print(f"| fan-out at saturation: {sat['viewers']} viewers × {sat['rate_per_s']} msg/s offered: deliveries/s | "
          f"{sat['deliveries_per_s']:.0f} (p99 {sat['latency_ms_p99']:.0f} ms, lagged resyncs {sat['lagged_resyncs']}) | |")
print("\n## Downloads before the first caption\n\n| path | transferred | encoding | brotli q11 |\n|---|---|---|---|")
for a in d["download"]:
    print(f"| {a['path']} | {a['transferred']} | {a['encoding']} | {a['brotli_q11'] if a['brotli_q11'] is not None else '—'} |")
