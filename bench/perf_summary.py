"""Summarises `perf report --no-children --sort dso,sym` of a serving wasgi as markdown: CPU
time per request, by component and by function, and a chart of the components. Used by
bench/profile.

    python3 bench/perf_summary.py PERF_REPORT WRK_OUTPUT COMMAND
"""
import re
import sys
from pathlib import Path

LINE = re.compile(r"^\s*([\d.]+)%\s+(.+?)\s+\[([.k])\]\s+(.*)$")

# Where a sample's function belongs, first match wins.
COMPONENTS = [
    ("guest code (the app, the SDK, wasi-libc)", lambda dso, sym, k:
        dso.startswith("[JIT]") or dso.startswith("perf-") or sym.startswith("wasm[")),
    ("kernel: resetting and faulting guest memory", lambda dso, sym, k:
        k == "k" and re.search(r"pagemap|page_fault|madvise|zap_|tlb|_pte|pmd|folio|mm_|"
                               r"walk_|vma|mas_|mt_find|clear_page|do_anonymous|vm_normal_page",
                               sym)),
    ("kernel: sockets, scheduling, syscalls", lambda dso, sym, k: k == "k"),
    ("wasmtime: instantiate, call, tear down", lambda dso, sym, k:
        re.match(r"<?(wasmtime|cranelift|wasmparser)", sym)),
    # glibc's malloc, or jemalloc (the host's allocator: every symbol prefixed `_rjem_`).
    ("malloc / free", lambda dso, sym, k:
        sym.startswith("_rjem_") or
        re.search(r"malloc|free|realloc|calloc|_int_|unlink_chunk|__rdl_|__rust_(de|re)?alloc",
                  sym)),
    ("memcpy / memset", lambda dso, sym, k: re.search(r"mem(cpy|move|set|cmp)", sym)),
    ("HTTP and async runtime (hyper, tokio)", lambda dso, sym, k:
        re.match(r"<?(hyper|http|httparse|tokio|mio|bytes|futures|h2)", sym)),
    ("wasgi host (scope, exchange, metrics, logs)", lambda dso, sym, k:
        re.match(r"<?(wasgi_host|prometheus|tracing)", sym)),
]


def component(dso, sym, kind):
    for name, test in COMPONENTS:
        if test(dso, sym, kind):
            return name
    return "other (std, core, unresolved)"


def main():
    report, wrk, command = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    rows = []
    for line in report.read_text(errors="replace").splitlines():
        match = LINE.match(line)
        if match:
            rows.append((float(match[1]), match[2], match[3], match[4]))
    samples = int((re.search(r"of event 'cpu-clock'.*?\n# Event count.*?(\d+)",
                             report.read_text(errors="replace"), re.S) or [0, 0])[1])
    wrk_text = wrk.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk_text)[1])
    by = {}
    for pct, dso, kind, sym in rows:
        key = component(dso, sym, kind)
        by[key] = by.get(key, 0.0) + pct
    # cpu-clock's event count is in nanoseconds of CPU time.
    sampled_s = float(re.search(r"bench/profile (\d+)", command)[1])
    cpu_us = samples / 1e3 / (rps * sampled_s) if samples and rps else None
    out = ["## Profile: where a request's CPU time goes\n",
           f"`{command}`: `perf` sampled `wasgi serve --pin-workers` of examples/hello while "
           f"`wrk -c32` asked "
           f"`GET /` ({rps:,.0f} requests/s during the profile)."]
    if cpu_us:
        out[-1] += (f" The server spent **{cpu_us:.0f} µs of CPU per request** "
                    "(all threads).")
    out += ["\n| component | share of the server's CPU |", "|---|---|"]
    for key, pct in sorted(by.items(), key=lambda kv: -kv[1]):
        out.append(f"| {key} | {pct:.1f}% |")
    out += ["", "![CPU time by component](profile.png)\n",
            "The functions that spend it, themselves only (top 25):\n",
            "| share | function | where |", "|---|---|---|"]
    for pct, dso, kind, sym in rows[:25]:
        sym = re.sub(r"::h[0-9a-f]{16}$", "", sym).replace("|", "\\|")
        if len(sym) > 100:
            sym = sym[:97] + "..."
        out.append(f"| {pct:.1f}% | `{sym}` | {component(dso, sym, kind)} |")
    print("\n".join(out) + "\n")
    chart(by, report.parent / "profile.png")


def chart(by, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    items = sorted(by.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4c72b0")
    ax.set_xlabel("% of the server's CPU time, `GET /` of hello under wrk -c32")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
