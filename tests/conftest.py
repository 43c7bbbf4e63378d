"""Shared fixtures: the built binaries, a scratch tree every test user can
write, and a runner that starts encapsulate as root or as an unprivileged
user (uid/gid 65534 through setpriv(1)).

Every test that takes the `user` fixture runs twice: as root and as nobody.
When pytest itself is not root, only the unprivileged variant runs (as the
current user).
"""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOBODY = 65534
IS_ROOT = os.geteuid() == 0
PY = "/usr/bin/python3"  # the system Python: the same inside as outside


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long real-world builds (run with -m slow)")


@pytest.fixture(scope="session")
def install_dir():
    """bin/ and lib/ copied to a world-readable place, so the unprivileged
    user can run them whatever the permissions of the checkout."""
    for built in ("bin/encapsulate", "lib/libencapsulate.so"):
        if not os.path.exists(os.path.join(REPO, built)):
            pytest.exit("run 'make' first: %s is missing" % built, returncode=2)
    top = tempfile.mkdtemp(prefix="encapsulate-test-bin-")
    os.chmod(top, 0o755)
    for sub, name in (("bin", "encapsulate"), ("lib", "libencapsulate.so")):
        os.makedirs(os.path.join(top, sub), mode=0o755)
        shutil.copy2(os.path.join(REPO, sub, name), os.path.join(top, sub, name))
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def encapsulate(install_dir):
    return os.path.join(install_dir, "bin", "encapsulate")


@pytest.fixture(params=["root", "nobody"] if IS_ROOT else ["self"])
def user(request):
    return request.param


@pytest.fixture
def workdir(user):
    """A fresh directory owned by the test user, under /tmp."""
    path = tempfile.mkdtemp(prefix="encapsulate-test-")
    os.chmod(path, 0o755)
    if user == "nobody":
        os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_user(user, argv):
    if user == "nobody":
        return ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "--"] + argv
    return argv


def user_env(user, extra=None):
    env = dict(os.environ)
    if user == "nobody":
        env["HOME"] = "/nonexistent"
        env["USER"] = env["LOGNAME"] = "nobody"
    env.pop("LD_PRELOAD", None)
    env.pop("ENCAPSULATE_SHIM", None)
    env.pop("ENCAPSULATE_SOCKET", None)
    if extra:
        env.update(extra)
    return env


class Run:
    def __init__(self, completed, report):
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.report = report

    def violations(self, **match):
        return [v for v in self.report["violations"]
                if all(v.get(k) == value for k, value in match.items())]

    def process(self, ident):
        return next(p for p in self.report["processes"] if p["id"] == ident)

    def __repr__(self):
        return "Run(rc=%r, stdout=%r, stderr=%r)" % (self.returncode, self.stdout[-2000:], self.stderr[-2000:])


@pytest.fixture
def run(encapsulate, user, workdir):
    """run(cmd, writable=[workdir], options=[], cwd=workdir, report=True)
    runs `encapsulate --report R -w ... -- cmd` as the test user and returns
    a Run with the parsed report."""
    def runner(cmd, writable=None, options=(), cwd=None, report=True, env=None, timeout=120,
               input=None):
        if writable is None:
            writable = [workdir]
        argv = [encapsulate]
        report_path = None
        if report:
            report_path = os.path.join(workdir, ".report-%s.json" % uuid.uuid4().hex)
            argv += ["--report", report_path]
        argv += list(options)
        for tree in writable:
            argv += ["-w", tree]
        argv += ["--"] + (["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd))
        completed = subprocess.run(as_user(user, argv), cwd=cwd or workdir, env=user_env(user, env),
                                   capture_output=True, text=True, timeout=timeout, input=input)
        data = None
        if report_path and os.path.exists(report_path):
            with open(report_path) as f:
                data = json.load(f)
            os.unlink(report_path)
        return Run(completed, data)
    return runner


@pytest.fixture
def unique_name():
    return "encapsulate-test-%s" % uuid.uuid4().hex[:12]


# Writes of a python one-liner: prints "ok" or the errno name, per path.
TRY_WRITES = (
    "import os, sys, errno\n"
    "for p in sys.argv[1:]:\n"
    "    try:\n"
    "        open(p, 'w').close(); print(p, 'ok')\n"
    "    except OSError as e:\n"
    "        print(p, errno.errorcode[e.errno])\n"
)


def try_writes(paths):
    return [PY, "-c", TRY_WRITES] + list(paths)


def write_results(stdout):
    return dict(line.rsplit(" ", 1) for line in stdout.splitlines())


def find_processes(marker):
    """Host pids whose command line contains marker."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found
