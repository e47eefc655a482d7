"""The `--watch` figures of scripts/bench (see the header comment there): edit-to-bootstrap
latency of `samrs build --watch` against the floor, touches that must cost no cargo run, and the
CPU an idle watch uses.

Python 3 standard library only; reuses the project generator of bench.py.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import TARGET, generate, loadavg, log  # noqa: E402

GOAL_SECONDS = 0.5  # median latency must stay within floor + this


def source(n_k, version):
    return f'fn main() {{\n    println!("fn{n_k} v{version}");\n}}\n'


class Watch:
    """A `samrs build --watch --output json` in the background, its output collected."""

    def __init__(self, samrs, cwd, env, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([str(samrs), "build", "--watch", "--output", "json"], cwd=cwd,
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.stdout, self.stderr = [], []
        self.lock = threading.Lock()
        for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()

    def _read(self, stream, sink):
        for line in stream:
            with self.lock:
                sink.append(line.rstrip("\n"))
                self.log.write(line)
                self.log.flush()

    def rebuilds(self):
        with self.lock:
            lines = list(self.stdout)
        return [json.loads(l) for l in lines if '"type": "rebuild"' in l]

    def wait(self, predicate, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if predicate(self.stdout, self.stderr):
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError(f"samrs --watch: no {what} within {timeout} s (see {self.log.name})")

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        finally:
            self.log.close()


def bootstrap_id(path):
    try:
        st = os.stat(path)
        return (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def lambda_stamps(target):
    """mtime of every target/lambda/*/bootstrap: cargo-lambda rewrites them on each run."""
    return {p: p.stat().st_mtime_ns for p in (target / "lambda").glob("*/bootstrap")}


def case(h, shape, n, runs):
    root = h.bench_dir / f"watch-{shape}-n{n}"
    shutil.rmtree(root, ignore_errors=True)
    w_dir, f_dir = root / "watch", root / "floor"
    w_src, f_src = generate(w_dir, shape, n), generate(f_dir, shape, n)
    w_target, f_target = root / "target-watch", root / "target-floor"
    env_w = dict(h.env, CARGO_TARGET_DIR=str(w_target))
    env_f = dict(h.env, CARGO_TARGET_DIR=str(f_target))
    floor_cmd = ["cargo", "lambda", "build", "--release", "--target", TARGET] + \
        [a for k in range(1, n + 1) for a in ("--bin", f"fn{k}")]

    def floor_once():
        start = time.perf_counter()
        r = subprocess.run(floor_cmd, cwd=f_dir, env=env_f, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        if r.returncode != 0:
            raise RuntimeError(f"floor failed in {f_dir}:\n{r.stderr[-2000:]}")
        return wall

    log(f"watch {shape} N={n}: first builds (compile; not measured)")
    floor_once()
    watch = Watch(h.samrs, w_dir, env_w, h.log_dir / f"watch-{shape}-n{n}.log")
    try:
        watch.wait(lambda out, err: any(l.startswith("Watching ") for l in err), 900, "first build")
        bootstrap = w_dir / ".aws-sam/build/Function1/bootstrap"
        other = w_dir / ".aws-sam/build/Function2/bootstrap" if n > 1 else None
        other_before = bootstrap_id(other) if other else None
        latencies, floors = [], []
        for i in range(1, runs + 1):
            log(f"watch {shape} N={n}: edit {i}/{runs}")
            seen = len(watch.rebuilds())
            before = bootstrap_id(bootstrap)
            start = time.perf_counter()
            w_src.write_text(source(1, i))
            while bootstrap_id(bootstrap) == before:
                if time.perf_counter() - start > 600:
                    raise RuntimeError(f"no new bootstrap after edit {i} (see {watch.log.name})")
                time.sleep(0.002)
            latencies.append(time.perf_counter() - start)
            watch.wait(lambda out, err: len([l for l in out if '"type": "rebuild"' in l]) > seen,
                       600, f"rebuild line after edit {i}")
            f_src.write_text(source(1, i))
            floors.append(floor_once())
        failed = [r for r in watch.rebuilds() if r["status"] != "success"]

        # Touches: new time stamps, same bytes. No rebuild line, and cargo-lambda rewrote no
        # target/lambda/*/bootstrap (it does on every run).
        log(f"watch {shape} N={n}: touches")
        rebuilds_before, stamps_before = len(watch.rebuilds()), lambda_stamps(w_target)
        touched = [w_src] + ([w_dir / "template.yaml"])
        for path in touched:
            os.utime(path, None)
            time.sleep(0.3)
        time.sleep(2)
        touch_rebuilds = len(watch.rebuilds()) - rebuilds_before
        touch_cargo = sum(1 for p, t in lambda_stamps(w_target).items() if stamps_before.get(p) != t)

        # Idle: CPU time the watching process uses over a quiet stretch.
        cpu0, t0 = watch.cpu_seconds(), time.perf_counter()
        time.sleep(5)
        idle_cpu = (watch.cpu_seconds() - cpu0) / (time.perf_counter() - t0) * 100
        other_kept = other is None or bootstrap_id(other) == other_before
    finally:
        code = watch.stop()
    return {
        "shape": shape, "n": n, "latency": statistics.median(latencies),
        "floor": statistics.median(floors), "latencies": latencies, "floors": floors,
        "failed": len(failed), "touches": len(touched), "touch_rebuilds": touch_rebuilds,
        "touch_cargo": touch_cargo, "idle_cpu": idle_cpu, "other_kept": other_kept, "exit": code,
    }


def main(h, sizes, shapes, runs):
    results = []
    for shape in shapes:
        for n in sizes:
            results.append(case(h, shape, n, runs))
    print()
    print(f"samrs build --watch: edit-to-bootstrap latency (save fn1's source -> new "
          f".aws-sam/build/Function1/bootstrap), median of {runs}, against the floor (one "
          f"`cargo lambda build --release --target {TARGET} --bin fn1 .. --bin fnN` after the "
          f"same edit); load average {loadavg()}")
    print(f"  {'shape':<10} {'N':>3}  {'watch s':>8}  {'floor s':>8}  {'watch-floor':>11}  "
          f"{'touches':>7}  {'rebuilds':>8}  {'cargo runs':>10}  {'idle CPU':>8}  Function2 kept")
    checks = []
    for r in results:
        print(f"  {r['shape']:<10} {r['n']:>3}  {r['latency']:>8.2f}  {r['floor']:>8.2f}  "
              f"{r['latency'] - r['floor']:>+11.2f}  {r['touches']:>7}  {r['touch_rebuilds']:>8}  "
              f"{r['touch_cargo']:>10}  {r['idle_cpu']:>7.2f}%  {'yes' if r['other_kept'] else 'NO'}")
        ok = r["latency"] <= r["floor"] + GOAL_SECONDS
        checks.append(f"{'PASS' if ok else 'FAIL'} watch {r['shape']} N={r['n']}: median latency "
                      f"{r['latency']:.2f} s <= floor {r['floor']:.2f} s + {GOAL_SECONDS} s")
        ok = r["touch_rebuilds"] == 0 and r["touch_cargo"] == 0
        checks.append(f"{'PASS' if ok else 'FAIL'} watch {r['shape']} N={r['n']}: "
                      f"{r['touches']} touches -> {r['touch_rebuilds']} rebuilds, {r['touch_cargo']} cargo runs")
        if r["failed"] or r["exit"] != 0:
            checks.append(f"FAIL watch {r['shape']} N={r['n']}: {r['failed']} failed rebuilds, "
                          f"exit code after SIGINT {r['exit']}")
    print()
    for line in checks:
        print(line)
    for r in results:
        print(f"  raw {r['shape']} N={r['n']}: watch {[round(x, 2) for x in r['latencies']]}, "
              f"floor {[round(x, 2) for x in r['floors']]}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="scripts/bench --watch")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--samrs", required=True)
    ap.add_argument("--tools-bin", required=True)
    ap.add_argument("--sizes", default="1,8,32")
    ap.add_argument("--shapes", default="crate,workspace")
    ap.add_argument("--runs", type=int, default=5)
    a, _ = ap.parse_known_args()

    class H:
        pass

    h = H()
    h.samrs = Path(a.samrs)
    h.bench_dir = Path(a.repo) / "target" / "bench"
    h.log_dir = h.bench_dir / "logs"
    h.log_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SAM_", "CARGO_BUILD_", "CARGO_TARGET_")) and k not in ("RUSTFLAGS", "RUST_LOG")}
    env["PATH"] = os.pathsep.join([a.tools_bin, env.get("PATH", "")])
    env["NO_COLOR"] = "1"
    h.env = env
    main(h, [int(s) for s in a.sizes.split(",") if s.strip()],
         [s.strip() for s in a.shapes.split(",") if s.strip()], a.runs)
