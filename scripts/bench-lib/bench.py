"""The measuring half of scripts/bench (see the header comment there for what each figure means).

Python 3 standard library only. Called by scripts/bench with --repo/--samrs/--tools-bin/--sam.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet  # noqa: E402

TARGET = "x86_64-unknown-linux-gnu.2.26"
SLOW_SECONDS = 10.0  # a first run longer than this caps the runs at 3
TOOLS = ("samrs", "sam", "floor")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- running one command

class Result:
    def __init__(self, wall, rc, own_kb, tree_kb, log_path):
        self.wall, self.rc, self.own_kb, self.tree_kb, self.log_path = wall, rc, own_kb, tree_kb, log_path


def _sample_hwm(pid, stop, out):
    """Keeps the largest VmHWM (peak RSS, kB) of /proc/<pid>/status until `stop` is set."""
    path = f"/proc/{pid}/status"
    while True:
        try:
            with open(path, "rb") as f:
                for line in f:
                    if line.startswith(b"VmHWM:"):
                        out[0] = max(out[0], int(line.split()[1]))
                        break
        except OSError:
            pass
        if stop.wait(0.002):
            return


def run(cmd, cwd, env, log_path):
    """Runs cmd (stdin closed, output to log_path); returns wall time, exit code and peak RSS."""
    with open(log_path, "wb") as out:
        out.write(("$ " + " ".join(str(c) for c in cmd) + f"\n# cwd {cwd}\n").encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        own = [0]
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_hwm, args=(proc.pid, stop, own), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Result(wall, proc.returncode, own[0], usage.ru_maxrss, log_path)


def tail(path, lines=15):
    text = Path(path).read_text(errors="replace").splitlines()
    return "\n".join("    " + line for line in text[-lines:])


# ---------------------------------------------------------------- project generation

TEMPLATE_HEAD = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: samrs benchmark project ({desc})
Resources:
"""

FUNCTION = """  Function{k}:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
{props}    Properties:
      CodeUri: {code_uri}
      Handler: bootstrap
      Runtime: provided.al2
"""


def template(n, shape, code_uri=None):
    parts = [TEMPLATE_HEAD.format(desc=f"{shape}, {n} functions")]
    for k in range(1, n + 1):
        if shape == "workspace":
            parts.append(FUNCTION.format(k=k, props="", code_uri=f"member{k}"))
        else:
            props = f"      BuildProperties:\n        Binary: fn{k}\n"
            parts.append(FUNCTION.format(k=k, props=props, code_uri=code_uri or "./"))
    return "".join(parts)


def main_rs(k):
    return f'fn main() {{\n    println!("fn{k}");\n}}\n'


def generate(dest, shape, n):
    """Writes a project; returns the source file of fn1 (the one `touched` edits)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / "template.yaml").write_text(template(n, shape))
    if shape == "crate":
        # The empty [workspace] keeps cargo from looking for a workspace above target/bench.
        (dest / "Cargo.toml").write_text(
            '[package]\nname = "benchcrate"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n')
        (dest / "src/bin").mkdir(parents=True)
        for k in range(1, n + 1):
            (dest / f"src/bin/fn{k}.rs").write_text(main_rs(k))
        return dest / "src/bin/fn1.rs"
    members = ", ".join(f'"member{k}"' for k in range(1, n + 1))
    (dest / "Cargo.toml").write_text(f'[workspace]\nmembers = [{members}]\nresolver = "2"\n')
    for k in range(1, n + 1):
        (dest / f"member{k}/src").mkdir(parents=True)
        (dest / f"member{k}/Cargo.toml").write_text(
            f'[package]\nname = "fn{k}"\nversion = "0.1.0"\nedition = "2021"\n')
        (dest / f"member{k}/src/main.rs").write_text(main_rs(k))
    return dest / "member1/src/main.rs"


# ---------------------------------------------------------------- one (shape, N) case

class Case:
    def __init__(self, h, shape, n):
        self.h, self.shape, self.n = h, shape, n
        self.root = h.bench_dir / f"{shape}-n{n}"
        self.tools = [t for t in TOOLS if t != "sam" or h.sam]
        self.dirs, self.touch_files = {}, {}
        for tool in self.tools:
            self.touch_files[tool] = generate(self.root / tool, shape, n)
            self.dirs[tool] = self.root / tool
        self.results = {}  # scenario -> tool -> [Result]
        self.touches = 0

    def command(self, tool, cached=False):
        if tool == "samrs":
            return [str(self.h.samrs), "build"] + (["--cached"] if cached else [])
        if tool == "sam":
            return [self.h.sam, "build"] + (["--cached"] if cached else [])
        bins = [a for k in range(1, self.n + 1) for a in ("--bin", f"fn{k}")]
        return ["cargo", "lambda", "build", "--release", "--target", TARGET] + bins

    def env(self, target_dir):
        env = dict(self.h.env)
        env["CARGO_TARGET_DIR"] = str(target_dir)
        return env

    def once(self, tool, scenario, target_dir=None, cached=False, keep=True):
        target_dir = target_dir or self.root / f"target-{tool}"
        logf = self.h.log_dir / f"{self.shape}-n{self.n}-{scenario}-{tool}.log"
        r = run(self.command(tool, cached), self.dirs[tool], self.env(target_dir), logf)
        if r.rc != 0:
            log(f"{tool} failed (exit {r.rc}) in {self.shape} N={self.n} {scenario}; log {logf}:\n{tail(logf)}")
        if keep:
            self.results.setdefault(scenario, {}).setdefault(tool, []).append(r)
        return r

    def repeat(self, scenario, runs, before=None, cached=False):
        """Runs every tool `runs` times, interleaved; a tool whose first run is slow gets 3."""
        limit = {t: runs for t in self.tools}
        for i in range(runs):
            for tool in self.tools:
                if cached and tool == "floor":
                    continue
                if i >= limit[tool]:
                    continue
                if before:
                    before(tool)
                r = self.once(tool, scenario, cached=cached)
                if r.rc != 0:
                    limit[tool] = 0  # no point repeating a failure
                elif i == 0 and r.wall > SLOW_SECONDS:
                    limit[tool] = min(runs, 3)

    def touch(self, tool):
        self.touches += 1
        with open(self.touch_files[tool], "a") as f:
            f.write(f"// touched {self.touches}\n")

    def run_all(self, runs, cold):
        log(f"{self.shape} N={self.n}: first build (compiles; not measured)")
        for tool in self.tools:
            self.once(tool, "warmup", keep=False)
        if cold:
            log(f"{self.shape} N={self.n}: cold")
            for tool in self.tools:
                target_dir = self.root / f"cold-{tool}"
                shutil.rmtree(target_dir, ignore_errors=True)
                shutil.rmtree(self.dirs[tool] / ".aws-sam", ignore_errors=True)
                self.once(tool, "cold", target_dir=target_dir)
                shutil.rmtree(target_dir, ignore_errors=True)
        log(f"{self.shape} N={self.n}: no-op x{runs}")
        for tool in self.tools:
            self.once(tool, "warmup", keep=False)
        self.repeat("no-op", runs)
        log(f"{self.shape} N={self.n}: touched x{runs}")
        self.repeat("touched", runs, before=self.touch)
        log(f"{self.shape} N={self.n}: --cached no-op x{runs}")
        for tool in self.tools:
            if tool != "floor":
                self.once(tool, "cached-prime", cached=True, keep=False)
        self.repeat("cached", runs, cached=True)

    def median(self, scenario, tool, attr="wall"):
        rs = [r for r in self.results.get(scenario, {}).get(tool, []) if r.rc == 0]
        if scenario == "cached" and tool == "floor":
            return self.median("no-op", "floor", attr)
        if not rs:
            return None
        return statistics.median(getattr(r, attr) for r in rs)

    def count(self, scenario, tool):
        return len(self.results.get(scenario, {}).get(tool, []))

    def failed(self, scenario, tool):
        return any(r.rc != 0 for r in self.results.get(scenario, {}).get(tool, []))


# ---------------------------------------------------------------- mixed-language template

MIXED_TOOLS = ("samrs", "sam", "cargo", "sampart")


class Mixed:
    """fixtures/mixed (a Rust function beside Python, Node.js, a Web Function and makefile
    resources): samrs against sam, and the two halves of samrs's work alone (the Rust function's
    `cargo lambda build`; `sam build --exclude RustFunction`), whose sum samrs's wall time is
    compared with: the halves run at the same time, so samrs should take about the slower one."""

    def __init__(self, h):
        self.h = h
        self.root = h.bench_dir / "mixed"
        shutil.rmtree(self.root, ignore_errors=True)
        fixture = Path(h.repo) / "fixtures" / "mixed"
        ignore = shutil.ignore_patterns("target", ".aws-sam")
        self.dirs = {}
        for tool in MIXED_TOOLS:
            shutil.copytree(fixture, self.root / tool, ignore=ignore)
            self.dirs[tool] = self.root / tool
        self.results = {}

    def command(self, tool):
        if tool == "samrs":
            return [str(self.h.samrs), "build"]
        if tool == "sam":
            return [self.h.sam, "build"]
        if tool == "sampart":
            return [self.h.sam, "build", "--exclude", "RustFunction"]
        return ["cargo", "lambda", "build", "--release", "--target", TARGET]

    def once(self, tool, scenario, target_dir=None, keep=True):
        env = dict(self.h.env)
        env["CARGO_TARGET_DIR"] = str(target_dir or self.root / f"target-{tool}")
        cwd = self.dirs[tool] / "rust_app" if tool == "cargo" else self.dirs[tool]
        logf = self.h.log_dir / f"mixed-{scenario}-{tool}.log"
        r = run(self.command(tool), cwd, env, logf)
        if r.rc != 0:
            log(f"{tool} failed (exit {r.rc}) on the mixed template, {scenario}; log {logf}:\n{tail(logf)}")
        if keep:
            self.results.setdefault(scenario, {}).setdefault(tool, []).append(r)
        return r

    def run_all(self, runs, cold):
        if cold:
            log("mixed template: cold (fresh CARGO_TARGET_DIR and .aws-sam; pip/npm caches as they are)")
            for tool in MIXED_TOOLS:
                target_dir = self.root / f"cold-{tool}"
                shutil.rmtree(target_dir, ignore_errors=True)
                shutil.rmtree(self.dirs[tool] / ".aws-sam", ignore_errors=True)
                self.once(tool, "cold", target_dir=target_dir)
                shutil.rmtree(target_dir, ignore_errors=True)
        log(f"mixed template: warm x{runs}")
        for tool in MIXED_TOOLS:
            self.once(tool, "warmup", keep=False)
        for _ in range(runs):
            for tool in MIXED_TOOLS:
                self.once(tool, "warm")

    def median(self, scenario, tool):
        rs = [r.wall for r in self.results.get(scenario, {}).get(tool, []) if r.rc == 0]
        return statistics.median(rs) if rs else None

    def print(self):
        print("mixed template (fixtures/mixed: RustFunction, built by samrs, plus PythonFunction + PythonLayer,")
        print("NodeFunction, WebApp, MakeFunction + ConfigLayer, built by sam build); 'cargo' = cargo lambda build")
        print("of the Rust function alone, 'sam part' = sam build --exclude RustFunction; medians:")
        cols = ["scenario", "samrs s", "sam s", "cargo s", "sam part s", "cargo+part s", "samrs/sum", "sam/samrs", "runs"]
        rows = []
        for sc in ("cold", "warm"):
            if sc not in self.results:
                continue
            v = {t: self.median(sc, t) for t in MIXED_TOOLS}
            total = None if v["cargo"] is None or v["sampart"] is None else v["cargo"] + v["sampart"]
            rows.append([sc, fmt_s(v["samrs"]), fmt_s(v["sam"]), fmt_s(v["cargo"]), fmt_s(v["sampart"]),
                         fmt_s(total), fmt_x(v["samrs"], total), fmt_x(v["sam"], v["samrs"]),
                         str(len(self.results[sc].get("samrs", [])))])
        widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) if rows else len(cols[i]) for i in range(len(cols))]
        line = lambda cells: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(cells, widths)))
        print(line(cols))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))


# ---------------------------------------------------------------- 1,000-function parse + plan

def parse_plan(h, runs):
    root = h.bench_dir / "parse1000"
    shutil.rmtree(root, ignore_errors=True)
    (root / "nocargo").mkdir(parents=True)
    (root / "template.yaml").write_text(template(1000, "crate", code_uri="nocargo"))
    env = dict(h.env)
    walls, rss, loaded, errors = [], [], [], set()
    for i in range(max(runs, 10)):
        for debug in (False, True):
            logf = h.log_dir / f"parse1000{'-debug' if debug else ''}.log"
            cmd = [str(h.samrs), "build"] + (["--debug"] if debug else [])
            r = run(cmd, root, env, logf)
            text = logf.read_text(errors="replace")
            if r.rc == 0 or "no Cargo.toml" not in text:
                errors.add(f"did not stop at the cargo-metadata step (exit {r.rc}); log {logf}")
            if debug:
                m = re.search(r"Template loaded: .* in ([0-9.]+) ms", text)
                if m:
                    loaded.append(float(m.group(1)))
            else:
                walls.append(r.wall)
                rss.append(r.tree_kb)  # no children: the process's own peak RSS
    return {
        "wall": statistics.median(walls),
        "rss_mb": max(rss) / 1024,
        "loaded_ms": statistics.median(loaded) if loaded else None,
        "runs": len(walls),
        "errors": sorted(errors),
    }


# ---------------------------------------------------------------- report

def fmt_s(v):
    return "-" if v is None else f"{v:.3f}"


def fmt_x(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def print_table(cases, scenarios):
    cols = ["shape", "N", "scenario", "samrs s", "sam s", "floor s", "samrs/floor", "sam/samrs",
            "samrs RSS MB", "tree MB", "runs s/S/f"]
    rows = []
    for c in cases:
        for sc in scenarios:
            if sc not in c.results:
                continue
            samrs, sam, floor = (c.median(sc, t) if t in c.tools else None for t in TOOLS)
            own = c.median(sc, "samrs", "own_kb")
            tree = c.median(sc, "samrs", "tree_kb")
            cells = {t: fmt_s(c.median(sc, t)) + ("!" if c.failed(sc, t) else "") for t in TOOLS}
            if "sam" not in c.tools:
                cells["sam"] = "n/a"
            runs = "/".join(str(c.count(sc, t)) if t in c.tools else "-" for t in TOOLS)
            if sc == "cached":
                runs = runs.rsplit("/", 1)[0] + "/(no-op)"
            rows.append([c.shape, str(c.n), sc, cells["samrs"], cells["sam"], cells["floor"],
                         fmt_x(samrs, floor), fmt_x(sam, samrs),
                         "-" if own is None else f"{own / 1024:.1f}",
                         "-" if tree is None else f"{tree / 1024:.0f}", runs])
    widths = [max(len(cols[i]), *(len(r[i]) for r in rows)) if rows else len(cols[i]) for i in range(len(cols))]
    line = lambda cells: "  ".join(v.rjust(w) if i > 2 else v.ljust(w) for i, (v, w) in enumerate(zip(cells, widths)))
    print(line(cols))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print("(medians; '!' = some run failed, see target/bench/logs; runs = samrs/sam/floor; "
          "cached rows show the no-op floor)")


def checks(cases, parse):
    out = []

    def verdict(ok):
        return "SKIP" if ok is None else ("PASS" if ok else "FAIL")

    def find(shape, n):
        return next((c for c in cases if c.shape == shape and c.n == n), None)

    shapes = sorted({c.shape for c in cases}, key=["crate", "workspace"].index)
    for shape in shapes:
        c8, c32, c1 = find(shape, 8), find(shape, 32), find(shape, 1)

        def ratio_check(case, sc, limit, label):
            if case is None or sc not in case.results:
                out.append(f"SKIP  [{shape}] {label}: not measured")
                return
            s, f = case.median(sc, "samrs"), case.median(sc, "floor")
            if s is None or f is None:
                out.append(f"SKIP  [{shape}] {label}: a run failed")
                return
            out.append(f"{verdict(s <= limit * f)}  [{shape}] {label}: samrs {s:.3f}s vs floor {f:.3f}s "
                       f"= {s / f:.2f}x (limit {limit:.2f}x)")

        ratio_check(c8, "no-op", 1.10, "no-op N=8 samrs <= 1.10 x floor")
        if c8 is not None and "no-op" in c8.results and "sam" in c8.tools:
            s, m = c8.median("no-op", "samrs"), c8.median("no-op", "sam")
            if s and m:
                out.append(f"{verdict(m >= 10 * s)}  [{shape}] no-op N=8 samrs >= 10x faster than sam: "
                           f"sam {m:.3f}s / samrs {s:.3f}s = {m / s:.1f}x")
            else:
                out.append(f"SKIP  [{shape}] no-op N=8 vs sam: a run failed")
        else:
            why = "N=8 not measured" if c8 is None else "sam not measured"
            out.append(f"SKIP  [{shape}] no-op N=8 samrs >= 10x faster than sam: {why}")
        if c32 is None:
            out.append(f"SKIP  [{shape}] --cached no-op N=32 <= 50 ms: N=32 not measured")
        else:
            s = c32.median("cached", "samrs")
            out.append(f"{verdict(None if s is None else s <= 0.050)}  [{shape}] --cached no-op N=32 <= 50 ms: "
                       f"samrs {'-' if s is None else f'{s * 1000:.0f} ms'}")
        ratio_check(c8, "cold", 1.05, "cold N=8 samrs <= 1.05 x floor")
        ratio_check(c8, "touched", 1.10, "touched N=8 samrs <= 1.10 x floor")
        if c32 is None or c1 is None:
            out.append(f"SKIP  [{shape}] samrs no-op N=32 <= 1.5 x samrs no-op N=1: N=1 and N=32 not both measured")
        else:
            a, b = c32.median("no-op", "samrs"), c1.median("no-op", "samrs")
            ok = None if a is None or b is None else a <= 1.5 * b
            out.append(f"{verdict(ok)}  [{shape}] samrs no-op N=32 <= 1.5 x N=1: "
                       f"{fmt_s(a)}s vs {fmt_s(b)}s = {fmt_x(a, b)}")
    if parse is not None:
        ok = parse["wall"] <= 0.050 and parse["rss_mb"] <= 40 and not parse["errors"]
        out.append(f"{verdict(ok)}  1,000-function template parse+plan <= 50 ms and <= 40 MB: "
                   f"{parse['wall'] * 1000:.1f} ms, {parse['rss_mb']:.1f} MB")
    return out


# ---------------------------------------------------------------- main

def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


class Harness:
    pass


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--samrs", required=True)
    ap.add_argument("--samrs-rev", default="?")
    ap.add_argument("--tools-bin", required=True)
    ap.add_argument("--sam", default="")
    ap.add_argument("--quick", action="store_true", help="N=1,8; R=3; no N=32, no cold")
    ap.add_argument("--sizes", default=None, help="comma-separated N (default 1,8,32)")
    ap.add_argument("--runs", type=int, default=None, help="runs per measurement (default 5)")
    ap.add_argument("--no-sam", action="store_true")
    ap.add_argument("--no-cold", action="store_true")
    ap.add_argument("--shapes", default="crate,workspace")
    ap.add_argument("--no-mixed", action="store_true", help="skip the mixed-language template")
    ap.add_argument("--only-mixed", action="store_true", help="only the mixed-language template")
    ap.add_argument("--no-fleet", action="store_true", help="skip the CI-fleet (remote cache) figures")
    ap.add_argument("--only-fleet", action="store_true", help="only the CI-fleet (remote cache) figures")
    a = ap.parse_args()

    started = time.perf_counter()
    sizes = [int(s) for s in (a.sizes or ("1,8" if a.quick else "1,8,32")).split(",") if s.strip()]
    runs = a.runs or (3 if a.quick else 5)
    cold = not (a.quick or a.no_cold)
    shapes = [s.strip() for s in a.shapes.split(",") if s.strip()]
    for s in shapes:
        if s not in ("crate", "workspace"):
            ap.error(f"unknown shape {s!r}")

    h = Harness()
    h.repo = a.repo
    h.samrs = Path(a.samrs)
    h.sam = "" if a.no_sam else a.sam
    h.bench_dir = Path(a.repo) / "target" / "bench"
    h.log_dir = h.bench_dir / "logs"
    h.log_dir.mkdir(parents=True, exist_ok=True)

    # A private SAM config folder saying telemetry is off and the version check just ran, so sam
    # never goes to the network (as tests/oracle.rs does).
    app_dir = h.bench_dir / "sam-app-dir"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "metadata.json").write_text(
        f'{{"telemetryEnabled": false, "lastVersionCheck": {int(time.time())}, "installationId": "samrs-bench"}}')
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SAM_", "CARGO_BUILD_", "CARGO_TARGET_")) and k not in ("RUSTFLAGS", "RUST_LOG")}
    path = [a.tools_bin]
    if h.sam:
        path.append(str(Path(h.sam).parent))
    env["PATH"] = os.pathsep.join(path + [env.get("PATH", "")])
    env["SAM_CLI_TELEMETRY"] = "0"
    env["__SAM_CLI_APP_DIR"] = str(app_dir)
    env["NO_COLOR"] = "1"
    h.env = env

    def version(cmd):
        try:
            return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=60).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    header = [
        "samrs benchmark: median wall time of R runs; tiny dependency-free bins (fn main() { println!(\"fnK\") }),",
        "so compiling is cheap and the figures show orchestration overhead (a real Lambda also links lambda_runtime).",
        f"floor = one `cargo lambda build --release --target {TARGET} --bin fn1 .. --bin fnN` "
        "(crate folder / workspace root).",
        f"samrs: {version([str(h.samrs), '--version'])} ({a.samrs_rev}); cargo-lambda: {version(['cargo', 'lambda', '--version'])}; "
        f"sam: {version([h.sam, '--version']) if h.sam else 'not measured'}; cores: {os.cpu_count()}",
        f"sizes {sizes}, shapes {shapes}, R={runs}, cold {'N<=8, 1 run' if cold else 'off'}; "
        f"load average at start {loadavg()}",
    ]
    if not a.no_sam and not h.sam:
        header.append("sam is not installed: sam columns are n/a")
    log("; ".join(header[3:]))

    if a.only_fleet:
        rows = fleet.fleet(h, run, generate, a.tools_bin)
        print()
        fleet.print_fleet(rows, 32)
        print()
        print(f"total bench time: {time.perf_counter() - started:.0f} s; load average at end {loadavg()}")
        return
    cases = []
    for shape in ([] if a.only_mixed else shapes):
        for n in sizes:
            case = Case(h, shape, n)
            case.run_all(runs, cold and n <= 8)
            cases.append(case)
    mixed = None
    if h.sam and not a.no_mixed:
        mixed = Mixed(h)
        mixed.run_all(runs, not a.no_cold)
    fleet_rows = None
    if not (a.only_mixed or a.no_fleet):
        log("CI fleet: a second checkout restoring 32 functions from a warm remote cache")
        fleet_rows = fleet.fleet(h, run, generate, a.tools_bin)
    parse = None
    if not a.only_mixed:
        log("1,000-function template parse + plan")
        parse = parse_plan(h, runs)

    print()
    for line in header:
        print(line)
    print()
    if cases:
        print_table(cases, ["cold", "no-op", "touched", "cached"])
        print()
    if mixed is not None:
        mixed.print()
        print()
    elif not a.no_mixed:
        print("mixed template: not measured (needs sam)")
        print()
    if fleet_rows is not None:
        fleet.print_fleet(fleet_rows, 32)
        print()
    if parse is None:
        print(f"total bench time: {time.perf_counter() - started:.0f} s; load average at end {loadavg()}")
        return
    print(f"1,000-function template, `samrs build` until it fails at the cargo-metadata step "
          f"(CodeUri has no Cargo.toml; = process start + load + parse + plan), median of {parse['runs']}: "
          f"{parse['wall'] * 1000:.1f} ms wall, {parse['rss_mb']:.1f} MB max RSS; "
          f"--debug 'Template loaded' (load + parse only): "
          f"{'-' if parse['loaded_ms'] is None else '%.1f ms' % parse['loaded_ms']}")
    for e in parse["errors"]:
        print(f"  warning: {e}")
    print()
    for line in checks(cases, parse):
        print(line)
    print()
    print(f"total bench time: {time.perf_counter() - started:.0f} s; load average at end {loadavg()} "
          "(other jobs on the machine make the figures noisy)")


if __name__ == "__main__":
    main()
