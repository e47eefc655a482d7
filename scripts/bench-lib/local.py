"""The `samrs local` figures of scripts/bench (`scripts/bench --local`): printed, not asserted.

Python 3 standard library only. On a copy of fixtures/local-echo (built once first, sharing
target/fixtures-target with the tests), it measures:
  invoke CLI     `samrs local invoke EchoFunction` end to end with an up-to-date build
                 (cached build check + a new function process + one invocation), R runs
  warm invoke    start-lambda: POST /2015-03-31/functions/EchoFunction/invocations over one
                 keep-alive connection, N requests to the same warm process
  start-api      GET /items/1 (REST, payload 1.0) and GET /http/x (HTTP API, payload 2.0),
                 N requests each over one keep-alive connection; then 4 clients at once
  cold start     start-api from launch to listening, and to the first answer (which starts
                 the function's process), R runs
Latencies are client-side (Python's http.client adds about 0.1 ms per request).
`sam local` needs Docker; where no Docker engine answers, it is reported as not measured.
"""

import argparse
import http.client
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def pct(values, p):
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


class Server:
    """A `samrs local start-*` process on a free port."""

    def __init__(self, samrs, project, env, command):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [samrs, "local", command, "--port", "0"],
            cwd=project, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.address = None
        self.lines = []
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith(" * Running on http://"):
                self.address = line.strip().split("http://", 1)[1]
                self.listening = time.perf_counter() - self.started
                break
        if self.address is None:
            raise SystemExit("bench: the server did not start:\n" + "".join(self.lines))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for _ in self.proc.stderr:
            pass

    def connection(self):
        host, port = self.address.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=60)

    def stop(self):
        self.proc.send_signal(2)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def timed_requests(conn, method, path, body, count):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request(method, path, body=body)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - start)
        if response.status != 200:
            raise SystemExit(f"bench: {method} {path} answered {response.status}")
    return times


def report(name, times):
    print(f"  {name:<34} median {ms(statistics.median(times)):>10}   p99 {ms(pct(times, 99)):>10}"
          f"   n={len(times)}")


def docker_available():
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench --local")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--samrs", required=True)
    ap.add_argument("--samrs-rev", default="?")
    ap.add_argument("--tools-bin", required=True)
    ap.add_argument("--sam", default="")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=10)
    args, _ = ap.parse_known_args()

    repo = Path(args.repo)
    project = repo / "target/bench/local/project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(repo / "fixtures/local-echo", project,
                    ignore=shutil.ignore_patterns("target", ".aws-sam"))
    env = dict(os.environ)
    env["PATH"] = args.tools_bin + os.pathsep + env.get("PATH", "")
    env["CARGO_TARGET_DIR"] = str(repo / "target/fixtures-target")
    env["NO_COLOR"] = "1"
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "SAM_DEBUG"):
        env.pop(name, None)

    def invoke():
        start = time.perf_counter()
        done = subprocess.run([args.samrs, "local", "invoke", "EchoFunction"], cwd=project, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True)
        took = time.perf_counter() - start
        if done.returncode != 0 or b'"function": "echo"' not in done.stdout:
            raise SystemExit("bench: invoke failed:\n" + done.stderr.decode(errors="replace"))
        return took

    log("building fixtures/local-echo (first invoke)")
    first = invoke()
    n, r = args.requests, args.runs
    print(f"\nsamrs local ({args.samrs_rev}), fixtures/local-echo, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  {'first invoke (builds the project)':<34} {first:.1f} s")
    report("invoke CLI (build up to date)", [invoke() for _ in range(r)])

    lambda_server = Server(args.samrs, project, env, "start-lambda")
    try:
        conn = lambda_server.connection()
        path = "/2015-03-31/functions/EchoFunction/invocations"
        timed_requests(conn, "POST", path, b"{}", 5)
        report("warm invoke (start-lambda)", timed_requests(conn, "POST", path, b"{}", n))
    finally:
        lambda_server.stop()

    api = Server(args.samrs, project, env, "start-api")
    try:
        conn = api.connection()
        timed_requests(conn, "GET", "/items/1", None, 5)
        report("start-api REST GET /items/1", timed_requests(conn, "GET", "/items/1", None, n))
        timed_requests(conn, "GET", "/http/x", None, 5)
        report("start-api HTTP API GET /http/x", timed_requests(conn, "GET", "/http/x", None, n))
        clients, per_client, results = 4, max(1, n // 4), []

        def client():
            results.extend(timed_requests(api.connection(), "GET", "/items/1", None, per_client))

        start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        report(f"start-api, {clients} clients at once", results)
        print(f"  {'':<34} {len(results) / wall:.0f} requests/s")
    finally:
        api.stop()

    listening, answered = [], []
    for _ in range(r):
        server = Server(args.samrs, project, env, "start-api")
        try:
            conn = server.connection()
            conn.request("GET", "/items/1")
            conn.getresponse().read()
            answered.append(time.perf_counter() - server.started)
            listening.append(server.listening)
        finally:
            server.stop()
    print(f"  {'cold start-api: listening':<34} median {ms(statistics.median(listening)):>10}")
    print(f"  {'cold start-api: first answer':<34} median {ms(statistics.median(answered)):>10}"
          "   (includes starting the function's process)")
    if docker_available():
        print("  sam local: Docker is available but the comparison is not automated; run "
              "`sam local start-api` on the same fixture to compare")
    else:
        print("  sam local: not measured (no Docker engine on this machine; sam local needs one)")


if __name__ == "__main__":
    main()
