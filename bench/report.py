"""Writes docs/benchmarks.md and docs/benchmarks.png from bench/results/results.json and the
criterion estimates of the same `bench/run`. Every figure in the page comes from those files.
"""
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
DOCS = ROOT / "docs"
CRITERION = ROOT / "target" / "criterion"


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    paths = json.loads((RESULTS / "paths.json").read_text())
    import fastapi
    import uvicorn
    return {
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "rustc": sh("rustc", "--version"),
        "wasmtime": sh(paths["wasmtime"], "--version"),
        "python": platform.python_version(),
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
        "wrk": sh("sh", "-c", "wrk -v 2>&1 | head -1").split(" Copyright")[0],
    }


def criterion_figures():
    """(benchmark name, mean in ns, 95% interval) for every criterion result on disk."""
    figures = []
    if not CRITERION.is_dir():
        return figures
    for estimates in sorted(CRITERION.glob("*/new/estimates.json")):
        bench = json.loads((estimates.parent / "benchmark.json").read_text())
        mean = json.loads(estimates.read_text())["mean"]
        figures.append((bench["title"], mean["point_estimate"],
                        mean["confidence_interval"]["lower_bound"],
                        mean["confidence_interval"]["upper_bound"]))
    return figures


def ns(value):
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e3:
        return f"{value / 1e3:.2f} µs"
    return f"{value:.0f} ns"


def mib(kib):
    return f"{kib / 1024:.1f}"


def run_of(system, endpoint, connections):
    for run in system["runs"]:
        if run["endpoint"] == endpoint and run["connections"] == connections:
            return run
    return None


def table(results, endpoint):
    conns = results["connections"]
    head = ["server"] + [f"{h} @{c}" for c in conns for h in ("rps", "p50 ms", "p99 ms")] + [
        "peak RSS MiB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for system in results["systems"]:
        cells = [system["name"]]
        peak = 0
        for c in conns:
            run = run_of(system, endpoint, c)
            if run is None:
                cells += ["–"] * 3
                continue
            rps = f"{run['rps']:,.0f}"
            if run["non_2xx"]:
                rps += f" ({run['non_2xx']} non-2xx)"
            cells += [rps, f"{run['p50_ms']:.2f}", f"{run['p99_ms']:.2f}"]
            peak = max(peak, run["peak_rss_kib"])
        cells.append(mib(peak))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(results, key="cpu_us_per_request", with_stolen=True):
    """CPU time per request (the server's, or with `key` wrk's) for every measurement, and
    with `with_stolen` the hypervisor's share."""
    conns = results["connections"]
    endpoints = ("GET /", "POST /items")
    head = ["server"] + [f"{e} @{c}" for e in endpoints for c in conns]
    head += ["CPU stolen"] if with_stolen else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for system in results["systems"]:
        cells, stolen = [system["name"]], []
        for endpoint in endpoints:
            for c in conns:
                run = run_of(system, endpoint, c)
                if run is None or key not in run:
                    cells.append("–")
                    continue
                cells.append(f"{run[key]:.1f}")
                stolen += [r["stolen"] for r in measurements(run)]
        if with_stolen:
            cells.append(f"{100 * min(stolen):.0f}–{100 * max(stolen):.0f}%" if stolen else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def has_wrk_cpu(results):
    """Whether the run measured wrk's own CPU time (runs before it was added did not)."""
    return any("wrk_cpu_us_per_request" in run
               for system in results["systems"] for run in system["runs"])


def measurements(run):
    """The wrk measurements a figure of the page comes from: each round's, or the one."""
    return run.get("rounds", [run])


def stolen_range(results):
    """The least and most CPU the hypervisor took during any measurement, or None."""
    stolen = [m["stolen"] for system in results["systems"] for run in system["runs"]
              for m in measurements(run) if "stolen" in m]
    return (min(stolen), max(stolen)) if stolen else None


def chart(results, path):
    endpoints = ["GET /", "POST /items"]
    conns = results["connections"]
    systems = results["systems"]
    fig, axes = plt.subplots(1, len(endpoints), figsize=(12, 4.5))
    width = 0.8 / max(1, len(systems))
    for ax, endpoint in zip(axes, endpoints):
        for i, system in enumerate(systems):
            runs = [run_of(system, endpoint, c) or {"rps": 0} for c in conns]
            values = [run["rps"] for run in runs]
            # The whisker spans the rounds' lowest and highest figure around their median.
            spread = [[v - min(m["rps"] for m in measurements(run)) for v, run in zip(values, runs)],
                      [max(m["rps"] for m in measurements(run)) - v for v, run in zip(values, runs)]]
            xs = [j + i * width for j in range(len(conns))]
            ax.bar(xs, values, width, label=system["name"], yerr=spread, capsize=2,
                   error_kw={"elinewidth": 0.8, "alpha": 0.7})
        ax.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(conns))])
        ax.set_xticklabels([f"{c} conn." for c in conns])
        ax.set_title(endpoint)
        ax.set_ylabel("requests / s")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    rounds = results.get("rounds", 1)
    fig.suptitle("wasgi and its peers, same machine, same run (higher is better)"
                 + (f"; median of {rounds} rounds, whiskers from lowest to highest"
                    if rounds > 1 else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def targets(results, micro):
    """Each target of issue #6 with the run's figure and whether it is met."""
    by_key = {s["key"]: s for s in results["systems"]}
    rows = []

    def rps(key, c=None):
        system = by_key.get(key)
        if not system:
            return None
        runs = [r for r in system["runs"] if r["endpoint"] == "GET /"
                and (c is None or r["connections"] == c)]
        return max((r["rps"] for r in runs), default=None)

    def best(key):
        return rps(key)

    w, n, m, f1 = best("wasgi"), best("native"), best("wasmtime"), best("fastapi1")
    if w and n:
        rows.append(("hello-world throughput ≥ 60% of native hyper (best of the concurrencies)",
                     f"{w:,.0f} / {n:,.0f} rps = {100 * w / n:.0f}%", w >= 0.6 * n))
    if w and m:
        rows.append(("hello-world throughput above `wasmtime serve`",
                     f"{w:,.0f} vs {m:,.0f} rps ({w / m:.2f}×)", w > m))
    if w and f1:
        rows.append(("≥ 10× FastAPI's single worker",
                     f"{w:,.0f} vs {f1:,.0f} rps ({w / f1:.1f}×)", w >= 10 * f1))
    wasgi = by_key.get("wasgi")
    run32 = wasgi and run_of(wasgi, "GET /", 32)
    if run32:
        rows.append(("p99 < 2 ms at 32 connections (GET /)", f"{run32['p99_ms']:.2f} ms",
                     run32["p99_ms"] < 2))
    hello = [m for m in micro if m[0].startswith("hello: instantiate")]
    if hello:
        rows.append(("instantiate + handle in-process < 10 µs", ns(hello[0][1]),
                     hello[0][1] < 10_000))
    size = results.get("sizes", {}).get("hello")
    if size:
        rows.append(("hello component < 300 KB", f"{size / 1000:.0f} KB", size < 300_000))
    lines = ["| target | this run | met |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in rows]
    return "\n".join(lines)


def main():
    results = json.loads((RESULTS / "results.json").read_text())
    micro = criterion_figures()
    info = machine()
    DOCS.mkdir(exist_ok=True)
    chart(results, DOCS / "benchmarks.png")
    command = os.environ.get("BENCH_COMMAND", "bench/run")
    date = results.get("finished") or datetime.datetime.fromtimestamp(
        (RESULTS / "results.json").stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    out = []
    out.append("# Benchmarks\n")
    out.append(
        "wasgi against what a user would pick instead, one after the other on the same "
        "loopback port of the same machine, under the same load generator. Every figure on this "
        "page comes from one run of the command below; `bench/README.md` says what each server "
        "is and how it is loaded. Rerun it to refresh the page.\n")
    out.append(f"- command: `{command}`")
    out.append(f"- date: {date} (when the measurements ended)")
    out.append(f"- machine: {info['cpu']}, {info['memory']}, Linux {info['kernel']} "
               "(a shared machine: the load generator and the server share its cores)")
    stolen = stolen_range(results)
    if stolen:
        out.append(f"- CPU taken by the hypervisor for other tenants during the measurements: "
                   f"{100 * stolen[0]:.0f}% to {100 * stolen[1]:.0f}% (see "
                   "[server CPU per request](#server-cpu-per-request))")
        if "max_stolen" in results:
            runs = [m for system in results["systems"] for run in system["runs"]
                    for m in measurements(run)]
            retaken = sum(1 for run in runs if run.get("attempts", 1) > 1)
            above = sum(1 for run in runs if run["stolen"] > results["max_stolen"])
            out.append(f"- measurements taken again because the hypervisor stole more than "
                       f"{100 * results['max_stolen']:.0f}% of the CPU during them: "
                       f"{retaken} of {len(runs)} (the least disturbed attempt is shown); "
                       f"still above it after every attempt: {above}")
    out.append(f"- software: {info['rustc']}; {info['wasmtime']}; Python {info['python']}, "
               f"FastAPI {info['fastapi']}, uvicorn {info['uvicorn']} (uvloop, httptools); "
               f"{info['wrk']}")
    rounds = results.get("rounds", 1)
    taking_turns = (f", each server measured {rounds} times, the servers taking turns round "
                    "after round; every figure is the median of its rounds" if rounds > 1 else "")
    out.append(f"- load: `wrk --latency`, {results['duration_s']} s per measurement after a "
               f"{results['warmup_s']} s warm-up, at {', '.join(map(str, results['connections']))}"
               f" connections (2 wrk threads, 1 for a single connection){taking_turns}\n")
    out.append("![requests per second by server and concurrency](benchmarks.png)\n")
    out.append("## Targets\n")
    out.append(targets(results, micro) + "\n")
    for endpoint, what in (("GET /", "`GET /` → `{\"message\":\"Hello World\"}`"),
                           ("POST /items", "`POST /items` with a valid `Item` → 201, the item "
                                           "and its `price_with_tax`")):
        out.append(f"## {what}\n")
        out.append(table(results, endpoint) + "\n")
    out.append("Peak RSS is the largest sum of `VmRSS` over a server's process tree, sampled "
               "every 50 ms during the measurements of that endpoint.\n")
    if stolen:
        out.append("## Server CPU per request\n")
        out.append("Microseconds of CPU time (user + system, the server's whole process tree) "
                   "per answered request, over each measurement above: what a request costs, "
                   "less dependent than requests per second on how wrk and the server shared "
                   "the cores, though cold caches still raise it on a busy machine. "
                   "*CPU stolen* is "
                   "the share of the machine's CPU time the hypervisor gave to other tenants "
                   "during that server's measurements (`steal` in `/proc/stat`); where it is "
                   "high, that server's throughput and latency above are low for reasons "
                   "outside it.\n")
        out.append(cpu_table(results) + "\n")
    if has_wrk_cpu(results):
        out.append("## wrk's CPU per request\n")
        out.append("Microseconds of CPU time (user + system) that wrk itself spent per answered "
                   "request, over the same measurements. wrk and the server share the "
                   "machine's cores, so where both are busy (32 and 256 connections) the "
                   "requests per second come to about the cores' time over the sum of the two "
                   "tables' figures. wrk's own figure grows as the server slows: it then "
                   "sleeps between responses instead of finding several waiting, and pays a "
                   "wake-up and a context switch for each ([what holds wasgi back]"
                   "(#what-holds-wasgi-back-and-what-was-done-about-it)).\n")
        out.append(cpu_table(results, "wrk_cpu_us_per_request", with_stolen=False) + "\n")
    idle = ", ".join(f"{s['name']} {mib(s['idle_rss_kib'])} MiB" for s in results["systems"])
    out.append(f"Resident memory at rest, after start-up and two requests: {idle}.\n")

    if micro:
        out.append("## Micro-benchmarks (criterion)\n")
        out.append("| benchmark | mean | 95% interval |\n|---|---|---|")
        for name, mean, low, high in micro:
            out.append(f"| {name} | {ns(mean)} | {ns(low)} – {ns(high)} |")
        out.append("\n`cargo bench --profile dist -p wasgi-host --bench instantiate` (a fresh "
                   "instance of the example, `GET /` through the host's `App::get`, no network; "
                   "\"instantiate only\" creates and discards the instance without calling it), "
                   "`cargo bench --profile dist -p wasgi --bench routing`, "
                   "`cargo bench --profile dist -p params --bench validation`: the host's "
                   "deployed build, as the servers above.\n")

    sizes = results.get("sizes")
    if sizes:
        out.append("## Component size\n")
        out.append("| component | bytes |\n|---|---|")
        for name, label in (("hello", "examples/hello"), ("params", "examples/params"),
                            ("wasgi_app", "bench/wasgi-app (the app wasgi serves above)"),
                            ("wasi_http", "bench/wasi-http (the `wasmtime serve` peer)")):
            if name in sizes:
                out.append(f"| {label} | {sizes[name]:,} |")
        out.append("")

    cold = results.get("cold_start_s")
    if cold:
        def median(xs):
            xs = sorted(xs)
            return xs[len(xs) // 2]
        out.append("## Cold start\n")
        out.append("Time from starting `wasgi serve hello.wasm` to the first answered `GET /`, "
                   f"median of {len(cold['no_cache'])} runs:\n")
        out.append("| compile cache | median | runs |\n|---|---|---|")
        for key, label in (("no_cache", "off (`--no-cache`)"),
                           ("cache_empty", "on, empty (compiles and stores)"),
                           ("cache_warm", "on, filled by the previous start")):
            runs = ", ".join(f"{x * 1000:.0f}" for x in cold[key])
            out.append(f"| {label} | {median(cold[key]) * 1000:.0f} ms | {runs} ms |")
        out.append("")

    density = results.get("density")
    if density:
        d = density
        out.append("## Density\n")
        out.append("`wasgi serve hello.wasm`, resident memory of the host process:\n")
        out.append("| state | host RSS |\n|---|---|")
        out.append(f"| started, one request served | {mib(d['baseline_rss_kib'])} MiB |")
        out.append(f"| {d['idle_connections']:,} idle keep-alive connections (each after one "
                   f"`GET /`) | {mib(d['idle_rss_kib'])} MiB |")
        out.append(f"| those closed again, 5 s later | {mib(d['after_idle_rss_kib'])} MiB |")
        out.append(f"| {d['uploads_in_flight']:,} requests in flight, each guest blocked in "
                   f"`receive()` on a stalled upload | {mib(d['uploads_rss_kib'])} MiB |")
        per_conn = (d["idle_rss_kib"] - d["baseline_rss_kib"]) / max(1, d["idle_connections"])
        per_req = (d["uploads_rss_kib"] - d["after_idle_rss_kib"]) / max(
            1, d["uploads_in_flight"])
        out.append(f"\nThat is about {per_conn:.1f} KiB per idle connection and "
                   f"{per_req:.0f} KiB per request in flight (instance, fiber stack, "
                   f"connection), each counted from the host's RSS just before its test began "
                   f"(the idle connections' from start-up, the uploads' from after those "
                   f"connections closed). After the measurement every stalled upload was completed: "
                   f"{d['uploads_completed']:,} of {d['uploads_in_flight']:,} were echoed back "
                   "whole.\n")

    profile = RESULTS / "profile.md"
    if profile.exists():
        text = profile.read_text()
        chart_png = RESULTS / "profile.png"
        if chart_png.exists():
            shutil.copyfile(chart_png, DOCS / "benchmarks-profile.png")
            text = text.replace("(profile.png)", "(benchmarks-profile.png)")
        out.append(text)
        flamegraph = RESULTS / "flamegraph.svg"
        if flamegraph.exists():
            shutil.copyfile(flamegraph, DOCS / "benchmarks-flamegraph.svg")
            out.append("The same samples as call stacks: "
                       "[the flamegraph](benchmarks-flamegraph.svg) (inferno; open it in a "
                       "browser to search and zoom). A box's width is its share of the "
                       "server's CPU, everything it called included.\n")
    analysis = BENCH / "analysis.md"
    if analysis.exists():
        out.append(analysis.read_text())
    (DOCS / "benchmarks.md").write_text("\n".join(out).rstrip() + "\n")
    print("wrote", DOCS / "benchmarks.md", file=sys.stderr)


if __name__ == "__main__":
    main()
