"""Runs the benchmark: each server in turn on the same loopback port, loaded by wrk, with its
memory sampled; then wasgi's cold start, component sizes and density. Writes
bench/results/results.json for report.py. `bench/run` calls this after building everything;
run it directly only with those builds in place.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import signal
import statistics
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"

ITEM = {"name": "Foo", "description": "A very nice Item", "price": 35.4, "tax": 3.2,
        "tags": ["rock", "metal"]}
# What every server must answer to POST /items (FastAPI's `model_dump()` plus the tax).
ITEM_ANSWER = {**ITEM, "images": None, "price_with_tax": 35.4 + 3.2}
HELLO_ANSWER = {"message": "Hello World"}


def log(*args):
    print("[bench]", *args, file=sys.stderr, flush=True)


# ---- processes and memory -------------------------------------------------------------------

def tree(pid):
    """pid and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    """Resident memory of pid's whole process tree, in KiB."""
    return sum(status_kib(p, "VmRSS") for p in tree(pid))


def cpu_ticks(pid):
    """CPU time (user + system, in clock ticks) spent so far by pid's whole process tree."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total


def machine_ticks():
    """(all, stolen) clock ticks of the machine's CPUs so far, from /proc/stat. Stolen ticks
    are time the hypervisor gave this VM's CPUs to someone else."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is counted in user already)
    return sum(fields[:8]), fields[7]


class CpuMeter:
    """The server's CPU time and the machine's stolen share over a measurement."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        self._server, self._machine = cpu_ticks(self.pid), machine_ticks()
        return self

    def __exit__(self, *exc):
        hz = os.sysconf("SC_CLK_TCK")
        self.cpu_s = (cpu_ticks(self.pid) - self._server) / hz
        (all_after, stolen_after), (all_before, stolen_before) = machine_ticks(), self._machine
        self.stolen = (stolen_after - stolen_before) / max(1, all_after - all_before)


class Sampler:
    """Samples a process tree's summed VmRSS every 50 ms and keeps the peak."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Server:
    """A server process in its own process group, stopped with SIGTERM (SIGKILL after 15 s)."""

    def __init__(self, cmd, port, cwd=ROOT, env=None):
        self.cmd, self.port = cmd, port
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(RESULTS / "server.log", "ab"))

    def wait_ready(self, timeout=180):
        """Seconds from start until `GET /` answered 200."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.cmd[0]} exited with {self.proc.returncode}")
            try:
                if http("GET", self.port, "/", timeout=1)[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.002)
        raise RuntimeError(f"{' '.join(self.cmd)} did not answer within {timeout}s")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # The port must be free for the next server.
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)


def http(method, port, path, body=None, timeout=5):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, data=body,
        headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def check_answers(port):
    """The two endpoints answer exactly what the benchmark expects."""
    status, body = http("GET", port, "/")
    assert (status, json.loads(body)) == (200, HELLO_ANSWER), (status, body)
    status, body = http("POST", port, "/items", json.dumps(ITEM).encode())
    assert (status, json.loads(body)) == (201, ITEM_ANSWER), (status, body)


# ---- load -----------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def millis(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(port, endpoint, connections, duration):
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
           "--timeout", "10s"]
    if endpoint == "POST /items":
        cmd += ["-s", str(BENCH / "post_item.lua")]
        url = f"http://127.0.0.1:{port}/items"
    else:
        url = f"http://127.0.0.1:{port}/"
    # wrk is the only child that ends while it runs, so the children's CPU time grows by wrk's alone.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "wrk_cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": millis(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99_ms": millis(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1]),
        "socket_errors": (re.search(r"Socket errors: (.*)", out) or [None, ""])[1],
    }
    return result


def measure(server, endpoint, connections, args):
    """One wrk measurement of `endpoint`. A measurement during which the hypervisor stole
    more than `args.max_stolen` of the machine's CPU is taken again after a pause, up to
    `args.retries` times, and the least disturbed attempt is kept: the machine is shared, and
    stolen time slows every server, so without this a neighbour's burst decides the ratios."""
    best = None
    for attempt in range(1 + args.retries):
        if attempt:
            time.sleep(args.retry_pause)
            wrk(args.port, endpoint, connections, args.warmup)
        with Sampler(server.proc.pid) as sampler, CpuMeter(server.proc.pid) as cpu:
            result = wrk(args.port, endpoint, connections, args.duration)
        result.update(endpoint=endpoint, connections=connections, peak_rss_kib=sampler.peak,
                      stolen=cpu.stolen,
                      cpu_us_per_request=cpu.cpu_s * 1e6 / max(1, result["requests"]),
                      wrk_cpu_us_per_request=result.pop("wrk_cpu_s") * 1e6
                      / max(1, result["requests"]))
        log(f"{endpoint:11} c={connections:<4} {result['rps']:>9.0f} rps  "
            f"p50 {result['p50_ms']:.3f} ms  p99 {result['p99_ms']:.3f} ms  "
            f"cpu {result['cpu_us_per_request']:.1f} us/req  "
            f"wrk cpu {result['wrk_cpu_us_per_request']:.1f} us/req  "
            f"rss {sampler.peak / 1024:.1f} MiB  non-2xx {result['non_2xx']}  "
            f"stolen {100 * cpu.stolen:.0f}%")
        if best is None or result["stolen"] < best["stolen"]:
            best, kept = result, attempt + 1
        if result["stolen"] <= args.max_stolen or attempt == args.retries:
            break
        log(f"  the hypervisor stole {100 * result['stolen']:.0f}% of the CPU: measuring again")
    best["attempts"] = attempt + 1  # how many times it was measured
    if attempt:
        log(f"  kept attempt {kept} of {attempt + 1} ({100 * best['stolen']:.0f}% stolen)")
    return best


def run_system(system, args):
    log(f"== {system['name']}")
    server = Server(system["cmd"], args.port, cwd=system.get("cwd", ROOT))
    try:
        server.wait_ready()
        check_answers(args.port)
        idle = rss_kib(server.proc.pid)
        runs = []
        for endpoint in ("GET /", "POST /items"):
            for connections in args.connections:
                wrk(args.port, endpoint, connections, args.warmup)
                runs.append(measure(server, endpoint, connections, args))
        return {"name": system["name"], "key": system["key"], "command": system["cmd"],
                "idle_rss_kib": idle, "runs": runs}
    finally:
        server.stop()


def prime(system, args):
    """Starts `system` once and stops it as soon as it answers, before any round: a server that
    compiles its code on its first start and caches it (wasgi's `--cache-dir`, `wasmtime
    serve`'s cache) does that here, so no round's peak RSS includes the compiler's memory,
    whether or not an earlier run left the cache filled (on a fresh clone, before this start,
    wasgi's first round peaked at 44.9 MiB at 256 connections, its four others at most 28.9)."""
    log(f"== {system['name']}: a first start, unmeasured")
    server = Server(system["cmd"], args.port, cwd=system.get("cwd", ROOT))
    try:
        server.wait_ready()
    finally:
        server.stop()


def median_runs(rounds):
    """One record per (endpoint, connections) from the same measurement in every round: the
    median of each figure (so one slow or fast moment of the machine decides none of them),
    the largest peak RSS and stolen share, and every round's own figures under `rounds`."""
    combined = []
    for cells in zip(*rounds):
        first = cells[0]
        assert all((c["endpoint"], c["connections"]) == (first["endpoint"], first["connections"])
                   for c in cells)
        record = {key: first[key] for key in ("endpoint", "connections")}
        for key in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request", "wrk_cpu_us_per_request"):
            record[key] = statistics.median(c[key] for c in cells)
        record["requests"] = sum(c["requests"] for c in cells)
        record["non_2xx"] = sum(c["non_2xx"] for c in cells)
        record["socket_errors"] = "; ".join(c["socket_errors"] for c in cells if c["socket_errors"])
        record["peak_rss_kib"] = max(c["peak_rss_kib"] for c in cells)
        record["stolen"] = max(c["stolen"] for c in cells)
        record["attempts"] = max(c["attempts"] for c in cells)
        record["rounds"] = cells
        combined.append(record)
    return combined


def run_rounds(systems, args):
    """Every system measured `args.rounds` times, the systems taking turns round after round, so
    that a drift of the shared machine during the run falls on all of them alike; each figure
    is the median of its rounds."""
    measured = {system["key"]: [] for system in systems}
    for system in systems:
        prime(system, args)
    for round_number in range(1, args.rounds + 1):
        for system in systems:
            log(f"round {round_number} of {args.rounds}")
            measured[system["key"]].append(run_system(system, args))
    results = []
    for system in systems:
        rounds = measured[system["key"]]
        results.append({**rounds[0], "idle_rss_kib": statistics.median(
            r["idle_rss_kib"] for r in rounds), "runs": median_runs([r["runs"] for r in rounds])})
    return results


# ---- cold start, size, density --------------------------------------------------------------

def cold_start(wasgi, component, port, runs=3):
    cache = RESULTS / "cold-cache"
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    listen = ["--listen", f"127.0.0.1:{port}", "--no-access-log"]
    result = {"no_cache": [], "cache_empty": [], "cache_warm": []}
    for _ in range(runs):
        for key, flags in (("no_cache", ["--no-cache"]),
                           ("cache_empty", ["--cache-dir", str(cache)]),
                           ("cache_warm", ["--cache-dir", str(cache)])):
            if key == "cache_empty":
                subprocess.run(["rm", "-rf", str(cache)], check=True)
            server = Server([wasgi, "serve", str(component)] + listen + flags, port)
            try:
                result[key].append(server.wait_ready())
            finally:
                server.stop()
    log("cold start (s):", result)
    return result


async def read_response(reader):
    """Reads one HTTP/1.1 response (Content-Length or chunked); returns (status, body length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = head.lower()
    match = re.search(rb"content-length: *(\d+)", headers)
    if match:
        return status, len(await reader.readexactly(int(match.group(1))))
    length = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return status, length
        length += size


async def idle_connections(port, count):
    """Opens `count` keep-alive connections, each after one answered `GET /`."""
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    semaphore = asyncio.Semaphore(500)

    async def one():
        async with semaphore:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status, _ = await read_response(reader)
            assert status == 200, status
            return reader, writer

    return await asyncio.gather(*(one() for _ in range(count)))


async def density(wasgi, component, port, idle_count, upload_count):
    server = Server([wasgi, "serve", str(component), "--listen", f"127.0.0.1:{port}",
                     "--no-access-log", "--max-connections", str(idle_count + 1000),
                     "--max-concurrency", str(upload_count), "--header-timeout", "300s",
                     "--timeout", "300s"], port)
    result = {}
    try:
        server.wait_ready()
        time.sleep(0.5)
        result["baseline_rss_kib"] = rss_kib(server.proc.pid)

        connections = await idle_connections(port, idle_count)
        await asyncio.sleep(2)
        result["idle_connections"] = idle_count
        result["idle_rss_kib"] = rss_kib(server.proc.pid)
        # Still open and serving: ask again on a sample of them.
        for reader, writer in connections[:: max(1, idle_count // 100)]:
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            assert (await read_response(reader))[0] == 200
        for _, writer in connections:
            writer.close()
        del connections
        # The host's allocator gives freed connection memory back about 1 s after a burst of
        # closes (host/src/allocator.rs); 5 s leaves it room on a busy machine.
        await asyncio.sleep(5)
        result["after_idle_rss_kib"] = rss_kib(server.proc.pid)

        # Slow uploads: headers and 1 KiB of a 64 KiB body, then a stall; the guest (POST
        # /echo) waits in receive() for the rest.
        total, first = 65536, 1024
        head = (f"POST /echo HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream"
                f"\r\nContent-Length: {total}\r\n\r\n").encode()
        uploads = []
        for _ in range(upload_count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head + b"x" * first)
            uploads.append((reader, writer))
        await asyncio.sleep(3)
        result["uploads_in_flight"] = upload_count
        result["uploads_rss_kib"] = rss_kib(server.proc.pid)

        async def finish(reader, writer):
            writer.write(b"x" * (total - first))
            return await read_response(reader)

        answers = await asyncio.gather(*(finish(r, w) for r, w in uploads))
        result["uploads_completed"] = sum(1 for a in answers if a == (200, total))
        for _, writer in uploads:
            writer.close()
    finally:
        server.stop()
    log("density:", result)
    return result


# ---- main -----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=5,
                        help="how many times each server is measured, in turns; the page shows "
                             "the median")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=lambda s: [int(c) for c in s.split(",")],
                        default=[1, 32, 256])
    parser.add_argument("--only", help="comma-separated system keys to run")
    parser.add_argument("--max-stolen", type=float, default=0.05,
                        help="share of CPU the hypervisor may steal during a measurement "
                             "before it is taken again")
    parser.add_argument("--retries", type=int, default=2,
                        help="how many times a disturbed measurement is taken again")
    parser.add_argument("--retry-pause", type=float, default=5.0,
                        help="seconds to wait before measuring again")
    parser.add_argument("--skip-extras", action="store_true",
                        help="skip cold start and density")
    args = parser.parse_args()
    if not 0 <= args.max_stolen <= 1:
        parser.error("--max-stolen is a share of the CPU, from 0 to 1 (0.05 is 5%)")
    if args.rounds < 1 or args.duration < 1:
        parser.error("--rounds and --duration must be at least 1")
    if args.retries < 0 or args.retry_pause < 0:
        parser.error("--retries and --retry-pause cannot be negative")
    RESULTS.mkdir(exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    paths = json.loads((RESULTS / "paths.json").read_text())
    wasgi, port = paths["wasgi"], str(args.port)
    addr = f"127.0.0.1:{port}"
    uvicorn = [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1",
               "--port", port, "--no-access-log", "--log-level", "warning"]
    systems = [
        {"key": "wasgi", "name": "wasgi",
         "cmd": [wasgi, "serve", paths["wasgi_app"], "--listen", addr, "--no-access-log",
                 "--pin-workers",
                 "--cache-dir", str(RESULTS / "cache")]},
        {"key": "native", "name": "hyper (native)", "cmd": [paths["native"], addr]},
        {"key": "wasmtime", "name": "wasmtime serve",
         "cmd": [paths["wasmtime"], "serve", "--addr", addr] + paths["wasmtime_flags"]
         + [paths["wasi_http"]]},
        {"key": "fastapi1", "name": "FastAPI, 1 worker", "cwd": BENCH,
         "cmd": uvicorn + ["--workers", "1"]},
        {"key": "fastapi2", "name": "FastAPI, 2 workers", "cwd": BENCH,
         "cmd": uvicorn + ["--workers", "2"]},
    ]
    if args.only:
        keys = args.only.split(",")
        systems = [s for s in systems if s["key"] in keys]

    results = {"duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
               "max_stolen": args.max_stolen,
               "connections": args.connections, "systems": []}
    results["systems"] = run_rounds(systems, args)

    results["sizes"] = {name: os.path.getsize(paths[name])
                        for name in ("hello", "params", "wasgi_app", "wasi_http")}
    if not args.skip_extras:
        results["cold_start_s"] = cold_start(wasgi, paths["hello"], args.port)
        idle = 10_000 if hard >= 12_000 else max(0, hard - 2_000)
        results["density"] = asyncio.run(density(wasgi, paths["hello"], args.port, idle, 1000))
    results["finished"] = time.strftime("%Y-%m-%d %H:%M %Z")
    (RESULTS / "results.json").write_text(json.dumps(results, indent=1))
    log("wrote", RESULTS / "results.json")


if __name__ == "__main__":
    main()
