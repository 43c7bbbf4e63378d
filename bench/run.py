#!/usr/bin/env python3
"""The encapsulate benchmark (issue 6).  Run by `make bench`; never part of the tests.

Every workload runs bare, under encapsulate, under bwrap and under strace (the
last two only when installed) in ONE run, interleaved: bare, enc, bwrap, strace,
bare, enc, ... for several repetitions.  Prints min and median per variant and
their ratio to bare, and writes bench/results-<date>.md.

Environment:
  BENCH_QUICK=1    fewer repetitions
  BENCH_KERNEL=1   also W5: the Linux kernel (linux-source-6.1, tinyconfig; long)
  BENCH_ONLY=W1,W3,MEM   run only these workloads
  ENCAPSULATE=path the binary to measure (default: bin/encapsulate next to bench/)
Python 3 standard library only.
"""

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENC = os.environ.get("ENCAPSULATE", os.path.join(ROOT, "bin", "encapsulate"))
QUICK = os.environ.get("BENCH_QUICK") == "1"
KERNEL = os.environ.get("BENCH_KERNEL") == "1"
ONLY = [w.strip().upper() for w in os.environ.get("BENCH_ONLY", "").split(",") if w.strip()]

REPS = 3 if QUICK else 7          # interleaved rounds for W2, W3
REPS_W1 = 5 if QUICK else 10      # rounds for W1 (each round: a batch of runs)
BATCH_W1 = 20 if QUICK else 50    # runs of `true` per variant per round
REPS_W4 = 2 if QUICK else 5
REPS_W5 = 1 if QUICK else 2
STORM_N = 100_000
MEM_N = 1_000_000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def have(prog):
    return shutil.which(prog) is not None


def variants(wdir):
    """name -> command prefix.  wdir is the only writable tree."""
    v = {"bare": [], "encapsulate": [ENC, "-q", "-w", wdir, "--"]}
    if have("bwrap"):
        v["bwrap"] = ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev",
                      "--proc", "/proc", "--bind", wdir, wdir]
    if have("strace"):
        v["strace"] = ["strace", "-f", "-e", "trace=%file,%process", "-o", "/dev/null"]
    return v


def run_timed(argv, cwd=None, env=None, capture=False):
    """Wall time of one run in seconds (and stdout when capture)."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                  p.stderr.decode(errors="replace")[-2000:]))
    return (t, p.stdout.decode()) if capture else t


class Results:
    def __init__(self):
        self.rows = []   # (workload, variant, samples in seconds, note)
        self.notes = []

    def add(self, workload, variant, samples, note=""):
        self.rows.append((workload, variant, list(samples), note))

    def table(self):
        bare = {}
        for w, v, s, _ in self.rows:
            if v == "bare" and s:
                bare[w] = (min(s), statistics.median(s))
        bwrap = {w: statistics.median(s) for w, v, s, _ in self.rows if v == "bwrap" and s}
        lines = ["| workload | variant | n | min | median | min/bare | median/bare | median/bwrap |",
                 "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for w, v, s, note in self.rows:
            if not s:
                lines.append("| %s | %s | 0 | | | | | | %s" % (w, v, note))
                continue
            mn, md = min(s), statistics.median(s)
            b = bare.get(w)
            r1 = "%.3f" % (mn / b[0]) if b else ""
            r2 = "%.3f" % (md / b[1]) if b else ""
            r3 = "%.3f" % (md / bwrap[w]) if w in bwrap and v != "bwrap" else ""
            lines.append("| %s | %s | %d | %s | %s | %s | %s | %s |"
                         % (w, v, len(s), fmt(mn), fmt(md), r1, r2, r3))
        return "\n".join(lines)


def fmt(sec):
    if sec < 0.01:
        return "%.3f ms" % (sec * 1e3)
    if sec < 10:
        return "%.1f ms" % (sec * 1e3)
    return "%.2f s" % sec


def interleave(res, workload, vs, reps, one, setup=None):
    """Run one(prefix) for each variant in turn, reps rounds.  one returns seconds
    (or a list of seconds).  setup(name) runs untimed before each measurement."""
    samples = {name: [] for name in vs}
    for r in range(reps):
        for name, prefix in vs.items():
            if setup:
                setup(name)
            t = one(prefix)
            if isinstance(t, list):
                samples[name].extend(t)
            else:
                samples[name].append(t)
        log("  %s round %d/%d: %s" % (workload, r + 1, reps, ", ".join(
            "%s %s" % (n, fmt(statistics.median(s))) for n, s in samples.items())))
    for name in vs:
        res.add(workload, name, samples[name])
    return samples


# ---------------------------------------------------------------- W1 startup
def w1(res, vs):
    log("W1 startup: true")
    true = shutil.which("true")
    if have("hyperfine"):
        def one(prefix):
            with tempfile.NamedTemporaryFile(suffix=".json") as f:
                cmd = " ".join(shq(a) for a in prefix + [true])
                subprocess.run(["hyperfine", "-N", "--style", "none",
                                "--warmup", "3", "--runs", str(BATCH_W1),
                                "--export-json", f.name, cmd],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return json.load(open(f.name))["results"][0]["times"]
        how = "hyperfine -N, %d runs per variant per round" % BATCH_W1
    else:
        def one(prefix):
            for _ in range(3):
                run_timed(prefix + [true])
            return [run_timed(prefix + [true]) for _ in range(BATCH_W1)]
        how = "python perf_counter loop, %d runs per variant per round" % BATCH_W1
    res.notes.append("W1: %s, %d interleaved rounds." % (how, REPS_W1))
    interleave(res, "W1 true", vs, REPS_W1, one)


def shq(a):
    return a if re.fullmatch(r"[A-Za-z0-9_./=,:@%+-]+", a) else "'" + a.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------- W2 exec storm
def w2(res, vs, wdir):
    log("W2 exec storm: make -j2, 2000 x touch")
    d = os.path.join(wdir, "w2")
    os.makedirs(d)
    names = ["t%04d" % i for i in range(2000)]
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("all: %s\n" % " ".join(names))
        f.write("%s:\n\ttouch $@\n" % " ".join(names))
        f.write(".PHONY: all\n")

    def setup(_):
        for n in names:
            try:
                os.unlink(os.path.join(d, n))
            except FileNotFoundError:
                pass

    res.notes.append("W2: wall time of `make -j2` (2000 targets, `touch $@`), outputs removed "
                     "before each run.")
    interleave(res, "W2 make 2000 touch", vs, REPS,
               lambda p: run_timed(p + ["make", "-s", "-j2", "-C", d]), setup)


# ---------------------------------------------------------------- W3 syscall storm
def w3(res, vs, wdir, storm):
    log("W3 syscall storm: %d opens" % STORM_N)
    target = os.path.join(wdir, "w3-target")
    open(target, "w").close()

    def one_loop(mode):
        def one(prefix):
            _, out = run_timed(prefix + [storm, mode, str(STORM_N), target], capture=True)
            return float(out.split()[-1])
        return one

    res.notes.append("W3: time of the open/close loop measured inside the storm process "
                     "(CLOCK_MONOTONIC), so sandbox startup is excluded; %d opens of one file in "
                     "the writable tree." % STORM_N)
    # the two storms interleaved too: one round does write then read for every variant
    sw = {n: [] for n in vs}
    sr = {n: [] for n in vs}
    for r in range(REPS):
        for name, prefix in vs.items():
            sw[name].append(one_loop("w")(prefix))
            sr[name].append(one_loop("r")(prefix))
        log("  W3 round %d/%d: write %s | read %s" % (r + 1, REPS, ", ".join(
            "%s %s" % (n, fmt(statistics.median(s))) for n, s in sw.items()), ", ".join(
            "%s %s" % (n, fmt(statistics.median(s))) for n, s in sr.items())))
    for name in vs:
        res.add("W3 100k write opens", name, sw[name])
    for name in vs:
        res.add("W3 100k read opens", name, sr[name])


# ---------------------------------------------------------------- W4 libltdl
def w4(res, vs, wdir):
    if not have("libtoolize"):
        log("W4 skipped: libtoolize missing")
        res.notes.append("W4: skipped (libtoolize missing).")
        return
    log("W4 real build: libltdl")
    pristine = os.path.join(wdir, "w4-pristine")
    os.makedirs(pristine)
    subprocess.run(["libtoolize", "--copy", "--ltdl"], cwd=pristine, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    src = os.path.join(pristine, "libltdl")
    work = os.path.join(wdir, "w4")
    conf, build = {n: [] for n in vs}, {n: [] for n in vs}
    for r in range(REPS_W4):
        for name, prefix in vs.items():
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(src, work, symlinks=True)
            conf[name].append(run_timed(prefix + ["sh", "./configure", "--enable-ltdl-install"],
                                        cwd=work))
            build[name].append(run_timed(prefix + ["make", "-j2"], cwd=work))
        log("  W4 round %d/%d: configure %s | make %s" % (r + 1, REPS_W4, ", ".join(
            "%s %s" % (n, fmt(statistics.median(s))) for n, s in conf.items()), ", ".join(
            "%s %s" % (n, fmt(statistics.median(s))) for n, s in build.items())))
    shutil.rmtree(work, ignore_errors=True)
    for name in vs:
        res.add("W4 libltdl configure", name, conf[name])
    for name in vs:
        res.add("W4 libltdl make -j2", name, build[name])
    res.notes.append("W4: fresh copy of `libtoolize --copy --ltdl` output per run; "
                     "`sh ./configure --enable-ltdl-install` and `make -j2` timed apart.")


# ---------------------------------------------------------------- W5 kernel
def w5(res, vs, wdir):
    tarball = "/usr/src/linux-source-6.1.tar.xz"
    if not os.path.exists(tarball):
        log("W5 skipped: %s missing" % tarball)
        res.notes.append("W5: skipped (%s missing)." % tarball)
        return
    log("W5 kernel: extracting %s" % tarball)
    kdir = os.path.join(wdir, "w5")
    os.makedirs(kdir)
    subprocess.run(["tar", "-xJf", tarball, "-C", kdir], check=True)
    src = os.path.join(kdir, "linux-source-6.1")
    conf, build = {n: [] for n in vs}, {n: [] for n in vs}
    for r in range(REPS_W5):
        for name, prefix in vs.items():
            subprocess.run(["make", "-s", "mrproper"], cwd=src, check=True,
                           stdout=subprocess.DEVNULL)
            conf[name].append(run_timed(prefix + ["make", "tinyconfig"], cwd=src))
            build[name].append(run_timed(prefix + ["make", "-j2"], cwd=src))
            log("  W5 %s: tinyconfig %s, make -j2 %s"
                % (name, fmt(conf[name][-1]), fmt(build[name][-1])))
    for name in vs:
        res.add("W5 kernel tinyconfig", name, conf[name])
    for name in vs:
        res.add("W5 kernel make -j2", name, build[name])
    res.notes.append("W5: linux-source-6.1, `make mrproper` untimed before each run.")


# ---------------------------------------------------------------- memory
def peak_rss(argv):
    """Peak RSS (KiB) of the process started with argv: /proc/PID/status VmHWM,
    polled every 10 ms until it exits (the last reading is the peak up to then), and
    /usr/bin/time -v's figure when present (max over the process tree it waited for)."""
    out = {}
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    hwm = 0
    t0 = time.perf_counter()
    while p.poll() is None:
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.01)
    out["wall"] = time.perf_counter() - t0
    out["vmhwm_kib"] = hwm
    if os.path.exists("/usr/bin/time"):
        p = subprocess.run(["/usr/bin/time", "-v"] + argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr.decode())
        if m:
            out["time_v_kib"] = int(m.group(1))
    return out


def mem(res, wdir, storm):
    log("Memory: monitor peak RSS for %d failing outside opens" % MEM_N)
    outside = "/encapsulate-bench-outside"      # read-only inside: every open fails (EROFS)
    report = os.path.join(wdir, "mem-report.json")
    rows = []
    for label, extra in (("1 path", []), ("1,000 distinct paths", ["1000"]),
                         ("1,000,000 distinct paths", [str(MEM_N)])):
        argv = [ENC, "-q", "--report", report, "-w", wdir, "--", storm, "w", str(MEM_N),
                outside] + extra
        r = peak_rss(argv)
        events = None
        try:
            with open(report) as f:
                rep = json.load(f)
            events = rep.get("events")
            nviol = len(rep.get("violations", []))
        except (OSError, ValueError):
            nviol = None
        rows.append((label, r, events, nviol))
        log("  %s: VmHWM %.1f MiB, time -v %s, %.1f s, events %s, violation entries %s"
            % (label, r["vmhwm_kib"] / 1024,
               "%.1f MiB" % (r["time_v_kib"] / 1024) if "time_v_kib" in r else "n/a",
               r["wall"], events, nviol))
        try:
            os.unlink(report)
        except FileNotFoundError:
            pass
    res.mem = rows


# ---------------------------------------------------------------- main
def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    def ver(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "n/a"
    return {
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": cpu,
        "encapsulate": ver([ENC, "--version"]),
        "bwrap": ver(["bwrap", "--version"]) if have("bwrap") else "not installed",
        "strace": ver(["strace", "-V"]) if have("strace") else "not installed",
        "hyperfine": ver(["hyperfine", "--version"]) if have("hyperfine") else "not installed",
        "git": ver(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
    }


def want(w):
    return not ONLY or w in ONLY


def main():
    if not os.access(ENC, os.X_OK):
        sys.exit("bench: %s not built (run make)" % ENC)
    start = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    wdir = tempfile.mkdtemp(prefix="encapsulate-bench-")
    wdir = os.path.realpath(wdir)
    os.makedirs(os.path.join(wdir, "tmp"))
    os.environ["TMPDIR"] = os.path.join(wdir, "tmp")   # every variant writes only below wdir
    res = Results()
    res.mem = None
    try:
        storm = os.path.join(wdir, "storm")
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", storm,
                        os.path.join(HERE, "storm.c")], check=True)
        vs = variants(wdir)
        log("bench: variants %s; writable tree %s; %s mode"
            % (", ".join(vs), wdir, "quick" if QUICK else "full"))
        if want("W1"):
            w1(res, vs)
        if want("W2"):
            w2(res, vs, wdir)
        if want("W3"):
            w3(res, vs, wdir, storm)
        if want("W4"):
            w4(res, vs, wdir)
        if KERNEL and want("W5"):
            w5(res, vs, wdir)
        if want("MEM"):
            mem(res, wdir, storm)
    finally:
        shutil.rmtree(wdir, ignore_errors=True)
    end = datetime.datetime.now(datetime.timezone.utc)
    load_end = os.getloadavg()

    m = machine()
    table = res.table()
    out = ["# encapsulate benchmark, %s" % start.strftime("%Y-%m-%d %H:%M UTC"), "",
           "- machine: %s, nproc %s, kernel %s" % (m["cpu"] or "unknown CPU", m["nproc"],
                                                   m["kernel"]),
           "- encapsulate: %s (git %s)" % (m["encapsulate"], m["git"]),
           "- bwrap: %s; strace: %s; hyperfine: %s" % (m["bwrap"], m["strace"], m["hyperfine"]),
           "- mode: %s%s; duration %.0f s" % ("quick (BENCH_QUICK=1)" if QUICK else "full",
                                              ", kernel" if KERNEL else "",
                                              (end - start).total_seconds()),
           "- load average (1/5/15 min) at start %s, at end %s (other work on the machine "
           "makes every number noisier; interleaving keeps the ratios comparable)"
           % ("/".join("%.2f" % x for x in load_start), "/".join("%.2f" % x for x in load_end)),
           "- bwrap: `bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc --bind DIR DIR`; "
           "strace: `strace -f -e trace=%file,%process -o /dev/null`; encapsulate: "
           "`encapsulate -q -w DIR --`; DIR is the only writable tree (TMPDIR inside it).",
           "", table, ""]
    if res.mem:
        out += ["Memory: peak RSS of the encapsulate process (the monitor) for %d failing write "
                "opens outside the writable trees (`--report` on)." % MEM_N, "",
                "| paths | VmHWM (polled) | /usr/bin/time -v max RSS | wall | events | "
                "violation entries |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for label, r, events, nviol in res.mem:
            out.append("| %s | %.1f MiB | %s | %.1f s | %s | %s |" % (
                label, r["vmhwm_kib"] / 1024,
                "%.1f MiB" % (r["time_v_kib"] / 1024) if "time_v_kib" in r else "n/a",
                r["wall"], events, nviol))
        out.append("")
    out += ["Notes:", ""] + ["- " + n for n in res.notes] + [""]
    text = "\n".join(out)
    print(text)
    path = os.path.join(HERE, "results-%s.md" % start.strftime("%Y-%m-%d"))
    if os.path.exists(path):
        path = os.path.join(HERE, "results-%s.md" % start.strftime("%Y-%m-%d-%H%M"))
    with open(path, "w") as f:
        f.write(text)
    log("bench: wrote %s" % os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
