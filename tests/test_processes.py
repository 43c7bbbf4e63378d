"""Processes in the sandbox (issue 4): terminal injection refused while job
control works, daemons killed at the end and listed in the report, orphans
reaped, nothing left when encapsulate itself is killed, and the command's
own exit status whatever its children do.

Every test runs as root and as nobody (the `user` fixture).
"""
import os
import random
import shlex
import signal
import subprocess
import time

import pytest

from conftest import PY, as_user, find_processes, user_env



def in_terminal(encapsulate, user, workdir, command, timeout=60):
    """Runs `encapsulate -w workdir -- command` with a pseudo-terminal as its
    controlling terminal (script(1)); returns (returncode, output)."""
    inner = " ".join(shlex.quote(word) for word in
                     as_user(user, [encapsulate, "-w", workdir, "--"] + command))
    completed = subprocess.run(["script", "-qec", inner, "/dev/null"], cwd=workdir,
                               env=user_env(user), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout)
    return completed.returncode, completed.stdout.replace("\r\n", "\n")


def wait_until_gone(marker, timeout=10):
    deadline = time.monotonic() + timeout
    while find_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    return find_processes(marker)


# ---- terminal injection ------------------------------------------------------------------------

TIOCSTI_PROBE = r"""
import errno, fcntl, termios
TIOCLINUX = 0x541C
for name, request, argument in (
        ("TIOCSTI", termios.TIOCSTI, b"x"),
        # CVE-2019-10063: a high bit set must not get past the filter
        ("TIOCSTI-high-bits", termios.TIOCSTI | (1 << 32), b"x"),
        ("TIOCLINUX", TIOCLINUX, bytes([6, 0])),
        ("TIOCLINUX-high-bits", TIOCLINUX | (1 << 32), bytes([6, 0]))):
    try:
        fcntl.ioctl(0, request, argument)
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
"""


def test_tiocsti_and_tioclinux_are_refused(encapsulate, user, workdir):
    """ioctl_tty(2): TIOCSTI would push keystrokes into the caller's shell
    (dev.tty.legacy_tiocsti may allow it on this kernel); seccomp refuses it
    with EPERM, on the low 32 bits of the request."""
    rc, output = in_terminal(encapsulate, user, workdir, [PY, "-c", TIOCSTI_PROBE])
    assert rc == 0, output
    results = dict(line.split() for line in output.splitlines() if line.startswith("TIOC"))
    assert results == {"TIOCSTI": "EPERM", "TIOCSTI-high-bits": "EPERM",
                       "TIOCLINUX": "EPERM", "TIOCLINUX-high-bits": "EPERM"}, output


def test_tiocsti_works_outside(workdir):
    """The probe itself injects outside the sandbox when the kernel allows it,
    so the refusal above is the sandbox's doing (skipped when the kernel
    refuses TIOCSTI everywhere)."""
    try:
        with open("/proc/sys/dev/tty/legacy_tiocsti") as f:
            legacy = f.read().strip() == "1"
    except OSError:
        legacy = True  # kernels before 6.2 have no switch: TIOCSTI always works
    if not legacy and os.geteuid() != 0:
        pytest.skip("TIOCSTI needs CAP_SYS_ADMIN here (dev.tty.legacy_tiocsti=0)")
    completed = subprocess.run(["script", "-qec", shlex.join([PY, "-c", TIOCSTI_PROBE]), "/dev/null"],
                               cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=60)
    assert "TIOCSTI ok" in completed.stdout, completed.stdout


JOB_CONTROL_PROBE = r"""
import os, signal
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
os.setpgid(0, 0)                      # a job of its own, as a shell makes one
os.tcsetpgrp(0, os.getpgrp())         # TIOCSPGRP: into the foreground
print("foreground", os.tcgetpgrp(0) == os.getpgrp())   # TIOCGPGRP
"""


def test_job_control_ioctls_still_work(encapsulate, user, workdir):
    rc, output = in_terminal(encapsulate, user, workdir, [PY, "-c", JOB_CONTROL_PROBE])
    assert rc == 0, output
    assert "foreground True" in output, output


def test_interactive_shell_job_control(encapsulate, user, workdir):
    rc, output = in_terminal(encapsulate, user, workdir,
                             ["bash", "--norc", "-ic", "sleep 0.1 & wait %1; echo status=$?"])
    assert rc == 0, output
    assert "status=0" in output, output


# ---- daemons killed at the end ------------------------------------------------------------------


def test_daemon_is_killed_and_listed(run, workdir, unique_name):
    """A daemon does not keep encapsulate waiting, never writes after the
    command ended, and the report names it."""
    late = os.path.join(workdir, "late")
    started = os.path.join(workdir, "started")
    cmd = ("setsid sh -c 'touch started; sleep 30; echo late > late # %s' </dev/null >/dev/null 2>&1 & "
           "while [ ! -e started ]; do sleep 0.01; done; exit 0" % unique_name)
    try:
        began = time.monotonic()
        r = run(cmd)
        assert time.monotonic() - began < 10, r
        assert r.returncode == 0, r
        assert os.path.exists(started)
        killed = r.report["killed"]
        assert any(unique_name in " ".join(k["argv"]) for k in killed), killed
        assert all(isinstance(k["pid"], int) and k["pid"] > 1 for k in killed), killed
        assert "killed" in r.stderr and "still running" in r.stderr, r
        time.sleep(3)
        assert not os.path.exists(late)
        assert find_processes(unique_name) == []
    finally:
        for pid in find_processes(unique_name):
            os.kill(pid, signal.SIGKILL)


def test_nothing_killed_when_all_ended(run):
    r = run("(sleep 0.1 &); sleep 0.5; exit 0")
    assert r.returncode == 0, r
    assert r.report["killed"] == []
    assert "killed" not in r.stderr, r


# ---- orphans are reaped -----------------------------------------------------------------------------


def test_double_forked_children_leave_no_zombie(run):
    r = run("for i in $(seq 100); do (sleep 0.2 &); done; sleep 1; "
            "echo zombies=$(ps -eo stat | grep -c Z)")
    assert r.returncode == 0, r
    assert r.stdout == "zombies=0\n", r


# ---- encapsulate killed -------------------------------------------------------------------------------


def encapsulate_leftovers(before):
    """/tmp entries of ours that appeared since `before`."""
    return {n for n in set(os.listdir("/tmp")) - before
            if not n.startswith("encapsulate-test-")
            and ("encapsulate" in n or n in ("oldroot", "newroot"))}


def test_sigkill_right_after_start_leaves_nothing(encapsulate, user, workdir, unique_name):
    """50 starts, each killed with SIGKILL 0-50 ms in: no process of the
    sandbox survives (PR_SET_PDEATHSIG and a pipe for the sync), and no mount
    or directory is left on the host."""
    with open("/proc/self/mountinfo") as f:
        mounts_before = f.read()
    tmp_before = set(os.listdir("/tmp"))
    try:
        for attempt in range(50):
            marker = "%s-%d" % (unique_name, attempt)
            p = subprocess.Popen(as_user(user, [encapsulate, "-w", workdir, "--", "sh", "-c",
                                                "sleep 30; true", marker]),
                                 cwd=workdir, env=user_env(user), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(random.uniform(0, 0.05))
            p.kill()
            p.wait(timeout=10)
        assert wait_until_gone(unique_name) == []
        with open("/proc/self/mountinfo") as f:
            assert f.read() == mounts_before
        assert not encapsulate_leftovers(tmp_before)
    finally:
        for pid in find_processes(unique_name):
            os.kill(pid, signal.SIGKILL)


# ---- exit statuses ------------------------------------------------------------------------------------


def test_status_is_the_commands_not_a_childs(run):
    r = run("(sleep .3; exit 9)& exit 5")
    assert r.returncode == 5, r
    assert r.report["exit"] == {"status": 5, "signal": None}


def test_status_of_a_command_that_outlives_its_children(run):
    r = run("(exit 9)& wait; exit 4")
    assert r.returncode == 4, r
