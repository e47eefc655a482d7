"""The CI-fleet figures of scripts/bench: a second checkout at another path restoring N functions
from a warm remote cache (a folder, and a bucket on a moto S3 server on 127.0.0.1), with cargo
never started (logging `cargo`/`cargo-lambda` shims prove it), and the upload/download sizes.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from pathlib import Path

SHIM = """#!/usr/bin/env bash
echo "{tool} $*" >> "$SHIM_LOG"
PATH="$SHIM_PATH" exec {tool} "$@"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto_server on a free port of 127.0.0.1, with one bucket."""

    def __init__(self, tools_bin, log_path):
        self.port = free_port()
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [str(Path(tools_bin) / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.1)

    def create_bucket(self, name):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(f"PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                      "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
            answer = s.recv(100).decode(errors="replace")
        if " 200 " not in answer:
            raise RuntimeError(f"create bucket: {answer!r}")

    def env(self):
        return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}", "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def sizes(log_text, verb):
    m = re.search(rf"{verb} (\d+) function\(s\) (?:to|from) \S+ \(([\d.]+ [KM]iB)\)", log_text)
    return (int(m.group(1)), m.group(2)) if m else (0, "-")


def measure(h, run, generate, n, runs, kind, remote, extra_env):
    """Runner A fills `remote`; runner B (another path) restores `runs` times from a cold local cache."""
    root = h.bench_dir / "fleet" / kind
    shutil.rmtree(root, ignore_errors=True)
    shims = root / "shims"
    shims.mkdir(parents=True)
    for tool in ("cargo", "cargo-lambda"):
        path = shims / tool
        path.write_text(SHIM.format(tool=tool))
        path.chmod(0o755)
    # The commit both runners check out (copied before A builds: cargo adds Cargo.lock then).
    # A is at one path for both remotes, so the second A build finds its target folder warm.
    source = root / "source"
    a_dir = h.bench_dir / "fleet" / "a" / "project"
    shutil.rmtree(a_dir, ignore_errors=True)
    b_dir = root / "elsewhere" / "deeper" / "checkout"
    generate(source, "workspace", n)
    shutil.copytree(source, a_dir)
    env = dict(h.env)
    env.update(extra_env)
    env["SHIM_PATH"] = env["PATH"]
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    env["CARGO_TARGET_DIR"] = str(h.bench_dir / "fleet" / "target-a")
    cmd = [str(h.samrs), "build", "--cached", "--reproducible", "--remote-cache", remote]

    env["SHIM_LOG"] = str(root / "a-starts.log")
    first = run(cmd, a_dir, env, h.log_dir / f"fleet-{kind}-upload.log")
    first_text = Path(first.log_path).read_text(errors="replace")
    uploaded = sizes(first_text, "Uploaded")

    walls, starts, downloaded, ok = [], [], (0, "-"), first.rc == 0
    env["CARGO_TARGET_DIR"] = str(root / "target-b")
    for i in range(runs):
        shutil.rmtree(b_dir, ignore_errors=True)
        shutil.copytree(source, b_dir)
        starts_log = root / f"b-starts-{i}.log"
        env["SHIM_LOG"] = str(starts_log)
        # A fresh runner: nothing remembered in the cache home (toolchain versions are asked).
        env["XDG_CACHE_HOME"] = str(root / f"b-cache-home-{i}")
        result = run(cmd, b_dir, env, h.log_dir / f"fleet-{kind}-restore.log")
        text = Path(result.log_path).read_text(errors="replace")
        ok = ok and result.rc == 0
        walls.append(result.wall)
        lines = starts_log.read_text().splitlines() if starts_log.exists() else []
        starts.append(len(lines))
        downloaded = sizes(text, "Downloaded")
    return {
        "kind": kind, "ok": ok, "upload_wall": first.wall, "uploaded": uploaded,
        "restore_wall": statistics.median(walls) if walls else float("nan"),
        "cargo_starts": max(starts) if starts else -1, "downloaded": downloaded, "runs": runs,
    }


def fleet(h, run, generate, tools_bin, n=32, runs=3):
    """Both remote kinds; returns the rows to print."""
    folder = h.bench_dir / "fleet" / "folder-remote"
    shutil.rmtree(folder, ignore_errors=True)
    rows = [measure(h, run, generate, n, runs, "folder", str(folder), {})]
    if (Path(tools_bin) / "moto_server").exists():
        moto = Moto(tools_bin, h.log_dir / "fleet-moto.log")
        try:
            moto.create_bucket("fleet")
            rows.append(measure(h, run, generate, n, runs, "s3", "s3://fleet/bench", moto.env()))
        finally:
            moto.stop()
    return rows


def print_fleet(rows, n):
    print(f"CI fleet: N = {n} functions (workspace shape); runner A builds with --cached --reproducible "
          "--remote-cache and uploads;")
    print("runner B is a fresh copy at another path restoring from the warm remote (median of R runs; "
          "each run with a cold .aws-sam/cache and an empty cache home, as a fresh CI runner).")
    print(f"{'remote':<8} {'A build+upload':>15} {'uploaded':>20} {'B restore':>10} {'downloaded':>20} "
          f"{'cargo starts in B':>18}")
    for r in rows:
        up = f"{r['uploaded'][0]} fn, {r['uploaded'][1]}"
        down = f"{r['downloaded'][0]} fn, {r['downloaded'][1]}"
        print(f"{r['kind']:<8} {r['upload_wall']:>14.2f}s {up:>20} {r['restore_wall']:>9.2f}s {down:>20} "
              f"{r['cargo_starts']:>18}")
    for r in rows:
        passed = r["ok"] and r["restore_wall"] <= 2.0 and r["cargo_starts"] == 0 and r["downloaded"][0] == n
        print(f"{'PASS' if passed else 'FAIL'} fleet ({r['kind']}): {n} functions restored in "
              f"{r['restore_wall']:.2f}s (target <= 2 s), cargo started {r['cargo_starts']} time(s)")
