#!/usr/bin/env python3
"""Writes docs/BENCHMARKS.md from the results scripts/bench collected.

usage: bench_report.py RESULTS.jsonl OUT.md PLOT.png

Each tenure figure is shown next to its baseline from the same run, as a
ratio, and against the target it must meet. The prose about what dominated
each path lives in docs/bench/analysis.md (written by people, kept across
runs) and is appended as is.
"""
import json
import os
import platform
import subprocess
import sys


def load(path):
    runs = {}
    for line in open(path):
        line = line.strip()
        if line:
            r = json.loads(line)
            runs.setdefault(r["scenario"], []).append(r["result"])
    return runs


def one(runs, key):
    return runs.get(key, [None])[0]


def machine():
    model = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return os.cpu_count(), model, platform.release()


def fmt(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def verdict(ok):
    return "-" if ok is None else ("met" if ok else "**missed**")


def plot(runs, levels, png):
    data = png + ".dat"
    with open(data, "w") as f:
        for c in levels:
            e, t = one(runs, f"echo_get_c{c}"), one(runs, f"get_c{c}")
            if e and t:
                f.write(f"{c} {e['p50_us']} {e['p99_us']} {t['p50_us']} {t['p99_us']}\n")
    script = f"""
set terminal pngcairo size 900,520 font ',10'
set output '{png}'
set logscale xy
set xlabel 'requests in flight'
set ylabel 'latency (us)'
set title 'get latency vs concurrency: tenure (active entities) and the echo baseline'
set key top left
set grid
plot '{data}' using 1:2 with linespoints title 'echo p50', \\
     '{data}' using 1:3 with linespoints title 'echo p99', \\
     '{data}' using 1:4 with linespoints title 'tenure get p50', \\
     '{data}' using 1:5 with linespoints title 'tenure get p99'
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"bench_report: no plot: {e}", file=sys.stderr)
    finally:
        os.remove(data)


def main():
    results, out, png = sys.argv[1:4]
    runs = load(results)
    levels = sorted(int(k.split("_c")[1]) for k in runs if k.startswith("echo_get_c"))
    cpus, model, kernel = machine()
    L = []
    w = L.append
    w("# tenure benchmarks\n")
    w("Written by `scripts/bench` (do not edit by hand: rerun it). Every tenure figure")
    w("is measured next to its baseline in the same run, on the same machine, with")
    w("the same number of requests in flight, and shown as a ratio: these machines")
    w("are shared and noisy, absolute numbers drift, ratios much less.\n")
    w(f"Machine: {cpus} CPUs, {model}, Linux {kernel}.\n")
    w("Baselines:")
    w("- **echo**: `echo_node` behind the same broker, answering every request at once")
    w("  with a fixed entity (tenure's codec, no lock table, runtime or store): the")
    w("  limit of this architecture (client -> broker -> node -> broker -> client).")
    w("- **raw SQLite**: `sqlite_commit`, tenure's schema and write statements in")
    w("  transactions of a fixed batch size, no tenure logic.\n")

    w("## Targets\n")
    w("| scenario | tenure | baseline | ratio | target | |")
    w("| --- | --- | --- | --- | --- | --- |")
    for c, need in ((16, 0.80), (256, 0.60)):
        t, e = one(runs, f"get_c{c}"), one(runs, f"echo_get_c{c}")
        if t and e:
            r = ratio(t["ops_per_s"], e["ops_per_s"])
            w(f"| get, {c} in flight, ops/s | {fmt(t['ops_per_s'])} | {fmt(e['ops_per_s'])} | "
              f"{fmt(r, 2)} | >= {need} | {verdict(r >= need)} |")
            if c == 16:
                r = ratio(t["p99_us"], e["p99_us"])
                w(f"| get, 16 in flight, p99 us | {fmt(t['p99_us'])} | {fmt(e['p99_us'])} | "
                  f"{fmt(r, 2)} | <= 1.5 | {verdict(r <= 1.5)} |")
    raw = {(r["batch"]): r for r in runs.get("sqlite_full", [])}
    s = one(runs, "set_full_c64")
    if s and 64 in raw:
        r = ratio(s["ops_per_s"], raw[64]["rows_per_s"])
        w(f"| set, synchronous=full, 64 in flight, ops/s | {fmt(s['ops_per_s'])} | "
          f"{fmt(raw[64]['rows_per_s'])} (raw, batch 64) | {fmt(r, 2)} | >= 0.5 | {verdict(r >= 0.5)} |")
    c = one(runs, "create_c64")
    if c:
        w(f"| new entities, 64 in flight, 3 voters, per s | {fmt(c['ops_per_s'])} | | | "
          f">= 20,000 | {verdict(c['ops_per_s'] >= 20000)} |")
    f = one(runs, "failover")
    if f:
        lease = f["lease_ms"]
        w(f"| failover after kill -9, p99 ms (all entities served) | {fmt(f['all_p99_ms'])} | "
          f"lease {lease} | | <= {lease + 500} | {verdict(f['all_p99_ms'] <= lease + 500)} |")
    b, rss = one(runs, "big_create"), one(runs, "big_rss")
    if b and rss:
        per = (rss["rss_after_kib"] - rss["rss_before_kib"]) * 1024 / rss["entities"]
        secs = rss["entities"] / b["ops_per_s"] if b["ops_per_s"] else None
        w(f"| {rss['entities']:,} active entities on one node, RSS bytes per entity | {fmt(per)} | | | "
          f"<= 400 | {verdict(per <= 400)} |")
        w(f"| {rss['entities']:,} active entities, seconds to activate all | {fmt(secs, 1)} | | | "
          f"<= 60 | {verdict(secs is not None and secs <= 60)} |")
    w("")

    plot(runs, levels, png)
    w("## get: tenure vs the fabric, by requests in flight\n")
    w(f"![get latency vs concurrency]({os.path.relpath(png, os.path.dirname(out))})\n")
    w("| in flight | echo ops/s | tenure ops/s | ratio | echo p50/p99 us | tenure p50/p99 us | p99 ratio | errors |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in levels:
        e, t = one(runs, f"echo_get_c{c}"), one(runs, f"get_c{c}")
        if e and t:
            w(f"| {c} | {fmt(e['ops_per_s'])} | {fmt(t['ops_per_s'])} | "
              f"{fmt(ratio(t['ops_per_s'], e['ops_per_s']), 2)} | {fmt(e['p50_us'])} / {fmt(e['p99_us'])} | "
              f"{fmt(t['p50_us'])} / {fmt(t['p99_us'])} | {fmt(ratio(t['p99_us'], e['p99_us']), 2)} | "
              f"{e['errors']} / {t['errors']} |")
    w("")

    w("## set: durable writes vs raw SQLite group commit\n")
    w("| in flight | full ops/s | full p50/p99 us | normal ops/s | normal p50/p99 us | errors |")
    w("| --- | --- | --- | --- | --- | --- |")
    for c in (16, 64, 256):
        a, n = one(runs, f"set_full_c{c}"), one(runs, f"set_normal_c{c}")
        if a and n:
            w(f"| {c} | {fmt(a['ops_per_s'])} | {fmt(a['p50_us'])} / {fmt(a['p99_us'])} | "
              f"{fmt(n['ops_per_s'])} | {fmt(n['p50_us'])} / {fmt(n['p99_us'])} | {a['errors']} / {n['errors']} |")
    w("")
    w("Raw SQLite, same schema and statements (rows per second by batch size):\n")
    w("| batch | full rows/s | full tx/s | full p99 us | normal rows/s | normal tx/s |")
    w("| --- | --- | --- | --- | --- | --- |")
    rawn = {(r["batch"]): r for r in runs.get("sqlite_normal", [])}
    for batch in sorted(raw):
        a, n = raw[batch], rawn.get(batch)
        w(f"| {batch} | {fmt(a['rows_per_s'])} | {fmt(a['tx_per_s'])} | {fmt(a['p99_us'])} | "
          f"{fmt(n and n['rows_per_s'])} | {fmt(n and n['tx_per_s'])} |")
    w("")
    for c in (64,):
        a = one(runs, f"set_full_c{c}")
        if a and 64 in raw:
            w(f"set at {c} in flight with synchronous=full reaches "
              f"{fmt(ratio(a['ops_per_s'], raw[64]['rows_per_s']), 2)} x raw SQLite's rate at batch 64.\n")

    w("## New entities: claim + activation + create\n")
    w("| synchronous | in flight | creates/s | p50/p99 us | errors |")
    w("| --- | --- | --- | --- | --- |")
    for key, sync, c in (("create_c16", "full", 16), ("create_c64", "full", 64),
                         ("create_c256", "full", 256), ("create_normal_c64", "normal", 64)):
        r = one(runs, key)
        if r:
            w(f"| {sync} | {c} | {fmt(r['ops_per_s'])} | {fmt(r['p50_us'])} / {fmt(r['p99_us'])} | {r['errors']} |")
    act = one(runs, "sqlite_activate")
    if act:
        w(f"\nRaw SQLite activation (read the row, bump the epoch, open a tenure) at batch "
          f"{act['batch']}: {fmt(act['rows_per_s'])} rows/s.\n")
    else:
        w("")

    if f:
        w("## Failover after kill -9\n")
        w(f"Lease {f['lease_ms']} ms, {f['trials']} trials: the owner of the most entities is killed;")
        w("the time until a survivor serves its entities (first one / all of them):\n")
        w("| | p50 ms | p99 ms | max ms |")
        w("| --- | --- | --- | --- |")
        w(f"| first entity served | {fmt(f.get('first_p50_ms'))} | {fmt(f.get('first_p99_ms'))} | - |")
        w(f"| all entities served | {fmt(f.get('all_p50_ms'))} | {fmt(f.get('all_p99_ms'))} | {fmt(f.get('all_max_ms'))} |")
        w("")

    if b and rss:
        w("## One node holding many active entities\n")
        w(f"{rss['entities']:,} entities created through node a (3 voters, synchronous=full),")
        w(f"{fmt(b['ops_per_s'])} per second; node a's RSS {rss['rss_before_kib']:,} KiB before,")
        w(f"{rss['rss_after_kib']:,} KiB after: {fmt(per)} bytes per entity (its worker, its lock")
        w("table entry as owner, its voter's entry, and SQLite's page cache).\n")

    analysis = os.path.join(os.path.dirname(out), "bench", "analysis.md")
    if os.path.exists(analysis):
        w(open(analysis).read())
    open(out, "w").write("\n".join(L) + "\n")
    print(f"bench_report: wrote {out}")


if __name__ == "__main__":
    main()
