"""The options that shape the view and the command's surroundings: --tmpfs,
--hide, --share-net, --hostname, --setenv/--unsetenv/--clearenv, how
--dry-run shows them, and their errors.  Each runs as root and as nobody
(the `user` fixture).

Every test that could leave something on the host uses a unique name and
removes it in a `finally`.
"""
import os
import socket
import subprocess

import pytest

from conftest import NOBODY, PY, as_user, try_writes, user_env, write_results

SHIM_VARIABLES = {"LD_PRELOAD", "ENCAPSULATE_SOCKET", "ENCAPSULATE_SHIM"}

def owned_by(user, path, directory=True, content=None):
    """A directory (or a file with content) the test user owns."""
    if directory:
        os.makedirs(path, exist_ok=True)
    else:
        with open(path, "w") as f:
            f.write(content or "")
    if user == "nobody":
        os.chown(path, NOBODY, NOBODY)
    return path


def mountinfo(text):
    """{mount point: per-mount options} of the topmost mount at each point."""
    mounts = {}
    for line in text.splitlines():
        fields = line.split()
        mounts[fields[4].encode().decode("unicode_escape")] = fields[5].split(",")
    return mounts


@pytest.fixture
def raw(encapsulate, user, workdir):
    """raw(args) runs `encapsulate ARGS...` exactly as given, as the test user."""
    def runner(args, cwd=None, env=None, timeout=60):
        return subprocess.run(as_user(user, [encapsulate] + list(args)), cwd=cwd or workdir,
                              env=user_env(user, env), capture_output=True, text=True,
                              timeout=timeout)
    return runner


def assert_one_line_error(r, *words):
    assert r.returncode == 125, r
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("encapsulate: "), r
    for word in words:
        assert word in lines[0], r


# ---- --tmpfs ----------------------------------------------------------------------------------


def test_tmpfs_is_empty_private_and_writable(run, unique_name):
    """Writes land in the sandbox's own tmpfs: not violations, not on the host."""
    host_file = "/var/tmp/%s-host" % unique_name
    inside_file = "/var/tmp/%s-inside" % unique_name
    try:
        open(host_file, "w").close()
        r = run("ls -A /var/tmp; echo x > %s && echo created; stat -c %%a /var/tmp" % inside_file,
                options=["--tmpfs", "/var/tmp"])
        assert r.returncode == 0, r
        assert r.stdout.split() == ["created", "%o" % (os.stat("/var/tmp").st_mode & 0o7777)]
        assert not os.path.exists(inside_file)
        assert r.report["tmpfs"] == ["/var/tmp"] and r.report["violations"] == []
        assert [w["path"] for w in r.report["writes"]] == [inside_file]
    finally:
        for path in (host_file, inside_file):
            if os.path.exists(path):
                os.unlink(path)


def test_tmpfs_over_tmp_keeps_the_writable_tree_and_the_shim_below_it(run, user, workdir,
                                                                     install_dir, unique_name):
    """The workdir and the test's copy of the shim live in /tmp: the tree is bound back
    on top of the new, empty /tmp, and so is the shim's file, or nothing would report."""
    assert workdir.startswith("/tmp/") and install_dir.startswith("/tmp/")
    r = run("ls -A /tmp; echo x > /tmp/%s && echo y > %s/f && pwd" % (unique_name, workdir),
            options=["--tmpfs", "/tmp"])
    assert r.returncode == 0 and r.stderr == "", r
    assert sorted(r.stdout.split()[:-1]) == sorted([os.path.basename(workdir),
                                                    os.path.basename(install_dir)])
    assert r.stdout.split()[-1] == workdir
    assert not os.path.exists("/tmp/%s" % unique_name)
    assert os.path.exists(os.path.join(workdir, "f"))
    assert r.report["violations"] == []
    assert sorted(w["path"] for w in r.report["writes"]) == sorted(
        ["/tmp/%s" % unique_name, os.path.join(workdir, "f")])


def test_tmpfs_is_writable_in_mountinfo_and_nothing_reaches_the_host(run):
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    r = run(["cat", "/proc/self/mountinfo"], options=["--tmpfs", "/var/tmp"])
    assert r.returncode == 0, r
    inside = mountinfo(r.stdout)
    assert "rw" in inside["/var/tmp"] and "nosuid" in inside["/var/tmp"]
    with open("/proc/self/mountinfo") as f:
        assert f.read() == before


# ---- --hide -----------------------------------------------------------------------------------


def test_hidden_directory_looks_empty_and_refuses_writes(run, user, workdir, unique_name):
    """Hidden inside a writable tree and outside the trees: both refuse, both are violations."""
    inner = owned_by(user, os.path.join(workdir, "secrets"))
    owned_by(user, os.path.join(inner, "key"), directory=False, content="inner")
    outer = owned_by(user, "/tmp/%s" % unique_name)
    try:
        owned_by(user, os.path.join(outer, "key"), directory=False, content="outer")
        r = run([PY, "-c", "import os, sys; print(os.listdir(sys.argv[1]), os.listdir(sys.argv[2]))",
                 inner, outer], options=["--hide", inner, "--hide", outer])
        assert r.returncode == 0 and r.stdout == "[] []\n", r
        r = run(try_writes([os.path.join(inner, "new"), os.path.join(inner, "key"),
                            os.path.join(outer, "new"), os.path.join(workdir, "f")]),
                options=["--hide", inner, "--hide", outer])
        assert r.returncode == 0, r
        assert list(write_results(r.stdout).values()) == ["EROFS", "EROFS", "EROFS", "ok"]
        assert sorted(v["path"] for v in r.violations(errno="EROFS")) == sorted(
            [os.path.join(inner, "new"), os.path.join(inner, "key"), os.path.join(outer, "new")])
        assert [w["path"] for w in r.report["writes"]] == [os.path.join(workdir, "f")]
        assert sorted(r.report["hidden"]) == sorted([inner, outer])
        assert sorted(os.listdir(inner)) == ["key"] and os.listdir(outer) == ["key"]
        assert open(os.path.join(inner, "key")).read() == "inner"
    finally:
        for name in os.listdir(outer):
            os.unlink(os.path.join(outer, name))
        os.rmdir(outer)


def test_hidden_file_reads_empty_and_refuses_writes(run, user, workdir):
    credentials = owned_by(user, os.path.join(workdir, "credentials"), directory=False,
                           content="secret\n")
    r = run("cat %s; echo $?; echo new > %s; echo $?; stat -c %%F %s"
            % (credentials, credentials, credentials), options=["--hide", credentials])
    assert r.returncode == 0, r
    assert r.stdout.split("\n")[:2] == ["0", "2"]
    assert "regular" in r.stdout  # an empty file, not /dev/null: the build cannot write it
    assert [(v["path"], v["errno"]) for v in r.report["violations"]] == [(credentials, "EROFS")]
    assert open(credentials).read() == "secret\n"


def test_writable_tree_inside_a_hidden_directory(raw, user, workdir):
    """--hide ~ -w ~/project: the project shows through the empty home."""
    home = owned_by(user, os.path.join(workdir, "home"))
    owned_by(user, os.path.join(home, ".netrc"), directory=False, content="password")
    project = owned_by(user, os.path.join(home, "project"))
    r = raw(["--hide", home, "-w", project, "--"] + try_writes(
        [os.path.join(project, "f"), os.path.join(home, "f")]), cwd=project)
    assert r.returncode == 0, r
    assert list(write_results(r.stdout).values()) == ["ok", "EROFS"]
    r = raw(["--hide", home, "-w", project, "--", "ls", "-A", home], cwd=project)
    assert r.returncode == 0 and r.stdout.split() == ["project"], r
    assert os.path.exists(os.path.join(project, "f")) and not os.path.exists(os.path.join(home, "f"))


def test_hiding_the_shims_directory_keeps_the_shim(run, install_dir):
    """Reporting needs the shim: its file is bound back into a hidden directory."""
    lib = os.path.join(install_dir, "lib")
    r = run("ls %s; echo x > f" % lib, options=["--hide", lib])
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.split() == ["libencapsulate.so"]
    assert [w["path"] for w in r.report["writes"]][-1].endswith("/f"), r


def test_hidden_mounts_are_read_only_in_mountinfo(run, user, workdir):
    hidden_dir = owned_by(user, os.path.join(workdir, "d"))
    hidden_file = owned_by(user, os.path.join(workdir, "file"), directory=False)
    r = run(["cat", "/proc/self/mountinfo"], options=["--hide", hidden_dir, "--hide", hidden_file])
    assert r.returncode == 0, r
    inside = mountinfo(r.stdout)
    assert "ro" in inside[hidden_dir] and "ro" in inside[hidden_file]


# ---- --share-net ------------------------------------------------------------------------------


CONNECT = (
    "import socket, errno, sys\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5); print('connected')\n"
    "except OSError as e:\n"
    "    print(errno.errorcode.get(e.errno, e))\n")


def test_share_net_reaches_the_hosts_loopback_and_events_still_arrive(run):
    server = socket.create_server(("127.0.0.1", 0))
    try:
        port = str(server.getsockname()[1])
        r = run([PY, "-c", CONNECT, port], options=["--share-net"])
        assert r.returncode == 0 and r.stdout == "connected\n", r
        r = run([PY, "-c", CONNECT, port])
        assert r.returncode == 0 and r.stdout == "ECONNREFUSED\n", r
        # The shim reaches the monitor from the host's network namespace too.
        r = run("echo x > f; echo y > /etc/encapsulate-share-net-test", options=["--share-net"])
        assert [w["path"] for w in r.report["writes"]][-1].endswith("/f"), r
        assert [v["path"] for v in r.report["violations"]] == ["/etc/encapsulate-share-net-test"]
    finally:
        server.close()
        if os.path.exists("/etc/encapsulate-share-net-test"):
            os.unlink("/etc/encapsulate-share-net-test")


def test_share_net_socket_name_is_long_and_random(run):
    r = run("echo $ENCAPSULATE_SOCKET", options=["--share-net"])
    assert r.returncode == 0, r
    random_part = r.stdout.strip().rsplit("-", 1)[1]
    assert len(random_part) == 32 and int(random_part, 16) >= 0


# ---- --hostname -------------------------------------------------------------------------------


def test_hostname_is_set_inside_only(run):
    before = socket.gethostname()
    r = run(["hostname"], options=["--hostname", "encapsulated-build"])
    assert r.returncode == 0 and r.stdout == "encapsulated-build\n", r
    assert socket.gethostname() == before
    r = run(["hostname"])
    assert r.returncode == 0 and r.stdout == before + "\n", r


def test_hostname_cannot_be_changed_after_it_was_set(run):
    r = run([PY, "-c", "import socket, errno\ntry:\n    socket.sethostname('other'); print('set')\n"
             "except OSError as e:\n    print(errno.errorcode[e.errno])"],
            options=["--hostname", "box"])
    assert r.returncode == 0 and r.stdout == "EPERM\n", r


# ---- --setenv, --unsetenv, --clearenv -----------------------------------------------------------


# env(1), not Python, which adds LC_CTYPE to its own environment (PEP 538).
PRINT_ENV = ["/usr/bin/env", "-0"]


def parse_env(stdout):
    return dict(entry.split("=", 1) for entry in stdout.split("\0") if entry)


def test_setenv_and_unsetenv(run):
    r = run(PRINT_ENV, env={"KEEP": "1", "DROP": "2", "CHANGE": "3"},
            options=["--unsetenv", "DROP", "--setenv", "NEW", "a b=c|é", "--setenv", "CHANGE", ""])
    assert r.returncode == 0, r
    env = parse_env(r.stdout)
    assert env["KEEP"] == "1" and "DROP" not in env
    assert env["NEW"] == "a b=c|é" and env["CHANGE"] == ""
    assert env["PATH"] == os.environ["PATH"]


def test_clearenv_keeps_only_what_follows_and_the_shim(run):
    r = run(PRINT_ENV, env={"KEEP": "1"},
            options=["--setenv", "BEFORE", "1", "--clearenv", "--setenv", "AFTER", "2"])
    assert r.returncode == 0, r
    env = parse_env(r.stdout)
    assert set(env) == {"AFTER"} | SHIM_VARIABLES and env["AFTER"] == "2"
    # The shim still reports: the process is in the report.
    assert [p["exe"] for p in r.report["processes"]] == ["/usr/bin/env"], r


def test_the_shim_variables_stay_whatever_is_asked(run, encapsulate):
    r = run("echo x > f; echo $LD_PRELOAD",
            options=["--unsetenv", "LD_PRELOAD", "--setenv", "ENCAPSULATE_SOCKET", "bogus",
                     "--unsetenv", "ENCAPSULATE_SHIM"])
    assert r.returncode == 0, r
    assert r.stdout.strip().endswith("libencapsulate.so"), r
    assert [w["path"] for w in r.report["writes"]][-1].endswith("/f"), r


# ---- --dry-run and errors ---------------------------------------------------------------------


def test_dry_run_prints_the_operations_in_order(raw, user, workdir):
    hidden = owned_by(user, os.path.join(workdir, "hidden"))
    r = raw(["--dry-run", "--share-net", "--hide", hidden, "--setenv", "A", "1 2",
             "--hostname", "box", "--clearenv", "-w", workdir, "--tmpfs", "/var/tmp",
             "--unsetenv", "B", "--", "make", "-j8"])
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.splitlines() == [
        "share-net",
        # Mounts shallow first, so nested ones land on top ...
        "tmpfs /var/tmp",
        "writable %s" % workdir,
        "hide %s" % hidden,
        # ... the rest in the order given.
        "setenv A 1 2",
        "hostname box",
        "clearenv",
        "unsetenv B",
        "cwd %s" % workdir,
        "command make -j8",
    ]


@pytest.mark.parametrize("option", ["--tmpfs", "--hide"])
def test_missing_path_fails_before_running(raw, workdir, unique_name, option):
    missing = os.path.join(workdir, unique_name)
    marker = os.path.join(workdir, "ran")
    r = raw([option, missing, "-w", workdir, "--", "touch", marker])
    assert_one_line_error(r, option, missing)
    assert not os.path.exists(marker)
    r = raw([option, "", "-w", workdir, "--", "touch", marker])
    assert_one_line_error(r, option)
    assert not os.path.exists(marker)


def test_bad_option_values_fail_before_running(raw, workdir):
    marker = os.path.join(workdir, "ran")
    plain_file = os.path.join(workdir, "plain-file")
    open(plain_file, "w").close()
    for args, words in [
        (["--tmpfs", plain_file], ["--tmpfs", plain_file, "directory"]),
        (["--hide", workdir], [workdir, "--hide", "writable tree"]),  # also -w below
        (["--hostname", ""], ["--hostname"]),
        (["--hostname", "x" * 65], ["--hostname"]),
        (["--setenv", "A=B", "1"], ["--setenv", "A=B"]),
        (["--unsetenv", ""], ["--unsetenv"]),
    ]:
        r = raw(args + ["-w", workdir, "--", "touch", marker])
        assert_one_line_error(r, *words)
        assert not os.path.exists(marker)
    assert_one_line_error(raw(["-w", workdir, "--setenv", "A"]), "--setenv", "VALUE")


def test_help_names_the_options(raw):
    r = raw(["--help"])
    assert r.returncode == 0, r
    for option in ("--tmpfs", "--hide", "--share-net", "--hostname", "--setenv", "--unsetenv",
                   "--clearenv"):
        assert option in r.stdout
