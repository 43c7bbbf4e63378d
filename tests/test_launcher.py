"""The launcher end to end: the read-only view, the namespaces, what the
command keeps (cwd, ids, environment), the command line, exit statuses and
the report file.

Every test that writes outside the writable trees uses a unique name and
removes it in a `finally`, so a broken sandbox leaves nothing behind.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import NOBODY, PY, as_user, find_processes, try_writes, user_env, write_results



def uid_of(user):
    return NOBODY if user == "nobody" else os.geteuid()


def gid_of(user):
    return NOBODY if user == "nobody" else os.getegid()


def mkdir_for(user, path):
    """A directory the test user owns (writable on the host)."""
    os.makedirs(path, exist_ok=True)
    if user == "nobody":
        os.chown(path, NOBODY, NOBODY)
    return path


@pytest.fixture
def raw(encapsulate, user, workdir):
    """raw(args, cwd=workdir) runs `encapsulate ARGS...` exactly as given (no
    -w, no --), as the test user."""
    def runner(args, cwd=None, env=None, timeout=60):
        return subprocess.run(as_user(user, [encapsulate] + list(args)), cwd=cwd or workdir,
                              env=user_env(user, env), capture_output=True, text=True,
                              timeout=timeout)
    return runner


@pytest.fixture
def spawn(encapsulate, user, workdir):
    """spawn(args) starts `encapsulate ARGS...` as the test user in the
    background (setpriv execs, so the Popen pid is encapsulate's)."""
    started = []

    def starter(args, cwd=None):
        process = subprocess.Popen(as_user(user, [encapsulate] + list(args)), cwd=cwd or workdir,
                                   env=user_env(user), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process
    yield starter
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(path, timeout=20):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "timed out waiting for %s" % path
        time.sleep(0.02)


def host_mountinfo():
    with open("/proc/self/mountinfo") as f:
        return f.read()


def parse_mountinfo(text):
    """[(mount point, per-mount options)] from mountinfo lines."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        point = fields[4].encode().decode("unicode_escape")  # \040 for spaces
        mounts.append((point, fields[5].split(",")))
    return mounts


def under(path, tree):
    return path == tree or path.startswith(tree.rstrip("/") + "/")


# ---- 1. writes outside are refused, writes inside land --------------------------------------


def test_write_outside_gets_erofs(run, user, workdir, unique_name):
    """/tmp is writable on the host for everybody, so only the view can refuse it."""
    target = "/tmp/%s" % unique_name
    try:
        r = run(try_writes([target]))
        assert r.returncode == 0, r
        assert write_results(r.stdout) == {target: "EROFS"}
        assert not os.path.exists(target)
        [v] = r.violations(path=target)
        assert v["errno"] == "EROFS"
    finally:
        if os.path.lexists(target):
            os.unlink(target)


def test_write_outside_in_a_directory_the_user_owns(run, user, workdir, unique_name):
    """A directory the user may write on the host is read-only unless given with -w."""
    outside = mkdir_for(user, "/tmp/%s" % unique_name)
    try:
        r = run("echo x > %s/f; echo rc=$?; mkdir %s/d; echo rc=$?" % (outside, outside))
        assert r.returncode == 0, r
        assert r.stdout.split() == ["rc=2", "rc=1"]
        assert "Read-only file system" in r.stderr
        assert os.listdir(outside) == []
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_errno_seen_by_the_command_for_each_operation(run, workdir, unique_name):
    target = "/tmp/%s" % unique_name
    script = (
        "import os, errno\n"
        "t = %r\n"
        "for name, call in [('open', lambda: open(t, 'w')), ('mkdir', lambda: os.mkdir(t)),\n"
        "                   ('symlink', lambda: os.symlink('x', t)),\n"
        "                   ('rename', lambda: os.rename(%r, t))]:\n"
        "    try:\n"
        "        call(); print(name, 'ok')\n"
        "    except OSError as e:\n"
        "        print(name, errno.errorcode[e.errno])\n" % (target, os.path.join(workdir, "src")))
    try:
        open(os.path.join(workdir, "src"), "w").close()
        r = run([PY, "-c", script])
        assert r.returncode == 0, r
        # rename across mounts fails with EXDEV before the kernel looks at ro-ness
        assert write_results(r.stdout) == {"open": "EROFS", "mkdir": "EROFS",
                                           "symlink": "EROFS", "rename": "EXDEV"}
        assert not os.path.lexists(target)
    finally:
        for clean in (lambda: os.unlink(target), lambda: os.rmdir(target)):
            try:
                clean()
            except OSError:
                pass


def test_write_inside_lands_on_the_host(run, user, workdir):
    r = run("mkdir -p sub/deeper && echo hello > sub/deeper/f && ln -s f sub/deeper/l")
    assert r.returncode == 0, r
    path = os.path.join(workdir, "sub", "deeper", "f")
    assert open(path).read() == "hello\n"
    assert os.stat(path).st_uid == uid_of(user)
    assert os.readlink(os.path.join(workdir, "sub", "deeper", "l")) == "f"


def test_existing_files_outside_stay_readable(run):
    r = run("head -c 4 /bin/sh | od -c | head -1; cat /etc/hostname >/dev/null && echo readable")
    assert r.returncode == 0, r
    assert "E   L   F" in r.stdout and "readable" in r.stdout


# ---- 2. every submount is read-only -----------------------------------------------------------


@pytest.mark.parametrize("mount_point", ["/run", "/sys/fs/cgroup", "/dev", "/sys"])
def test_submounts_are_read_only(run, mount_point, unique_name):
    """mkdir in a submount of the host tree fails with EROFS, even as root."""
    if not os.path.ismount(mount_point):
        pytest.skip("%s is not a mount point here" % mount_point)
    target = os.path.join(mount_point, unique_name)
    try:
        r = run([PY, "-c", "import os, errno\ntry:\n    os.mkdir(%r); print('ok')\n"
                 "except OSError as e:\n    print(errno.errorcode[e.errno])" % target])
        assert r.returncode == 0, r
        assert r.stdout.strip() == "EROFS"
        assert not os.path.exists(target)
    finally:
        if os.path.isdir(target):
            os.rmdir(target)


def test_mountinfo_inside_is_read_only_except_known_mounts(run, workdir, user):
    extra = mkdir_for(user, os.path.join(workdir, "extra"))
    r = run(["cat", "/proc/self/mountinfo"], writable=[workdir, extra])
    assert r.returncode == 0, r
    mounts = parse_mountinfo(r.stdout)
    points = [point for point, _ in mounts]
    assert "/" in points and "/proc" in points
    allowed = [workdir, extra]
    # The topmost mount at each of these is the sandbox's own and writable.
    for special in ("/proc", "/dev/shm", "/dev/mqueue"):
        if special in points:
            allowed.append(special)
    writable = []
    for index, (point, options) in enumerate(mounts):
        topmost = point not in points[index + 1:]
        if topmost and any(under(point, tree) for tree in allowed):
            continue
        assert "ro" in options, "%s is mounted %s inside" % (point, ",".join(options))
    for point, options in mounts:
        if "rw" in options:
            writable.append(point)
    assert sorted(set(writable)) == sorted(set(p for p in allowed if p in points))
    # No trace of the staging tree.
    assert not [p for p in points if p.startswith(("/oldroot", "/newroot"))]


def test_every_host_mount_is_in_the_view(run):
    """The view is the whole host tree: same mount points (plus our own)."""
    r = run(["cat", "/proc/self/mountinfo"])
    assert r.returncode == 0, r
    inside = {point for point, _ in parse_mountinfo(r.stdout)}
    host = {point for point, _ in parse_mountinfo(host_mountinfo())}
    assert host <= inside


def test_dev_shm_is_writable_and_private(run, user, unique_name):
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    host_file = "/dev/shm/%s-host" % unique_name
    inside_file = "/dev/shm/%s-inside" % unique_name
    try:
        open(host_file, "w").close()
        r = run("echo x > %s && echo created; ls /dev/shm" % inside_file)
        assert r.returncode == 0, r
        assert r.stdout.splitlines()[0] == "created"
        listing = r.stdout.splitlines()[1:]
        assert os.path.basename(inside_file) in listing
        assert os.path.basename(host_file) not in listing
        assert not os.path.exists(inside_file)
        # shm_open(3)-style users (Python multiprocessing) work.
        r = run([PY, "-c", "import multiprocessing; l = multiprocessing.Lock(); print('lock')"])
        assert r.returncode == 0 and r.stdout == "lock\n", r
    finally:
        for path in (host_file, inside_file):
            if os.path.exists(path):
                os.unlink(path)


# ---- 3. what the command keeps ---------------------------------------------------------------


def test_cwd_is_preserved(run, workdir):
    r = run(["pwd"])
    assert r.returncode == 0 and r.stdout == workdir + "\n", r
    r = run([PY, "-c", "import os; print(os.getcwd())"])
    assert r.stdout == workdir + "\n", r


def test_cwd_below_a_tree_and_outside_the_trees(run, user, workdir):
    sub = mkdir_for(user, os.path.join(workdir, "a", "b"))
    r = run(["pwd"], cwd=sub)
    assert r.returncode == 0 and r.stdout == sub + "\n", r
    r = run(["pwd"], cwd="/usr/share")
    assert r.returncode == 0 and r.stdout == "/usr/share\n", r


def test_ids_are_preserved(run, user, workdir):
    r = run("id -u; id -g; stat -c %u:%g .")
    assert r.returncode == 0, r
    uid, gid = uid_of(user), gid_of(user)
    assert r.stdout.split() == [str(uid), str(gid), "%d:%d" % (uid, gid)]


def test_environment_is_preserved_and_shim_preloaded(run, encapsulate):
    value = "a b\tc=d|é"
    r = run([PY, "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
            env={"ENCAPSULATE_TEST_VAR": value})
    assert r.returncode == 0, r
    env = json.loads(r.stdout)
    assert env["ENCAPSULATE_TEST_VAR"] == value
    assert env["PATH"] == os.environ["PATH"]
    shim = os.path.realpath(os.path.join(os.path.dirname(encapsulate), "..", "lib",
                                         "libencapsulate.so"))
    assert env["LD_PRELOAD"].split()[0] == shim
    assert env["ENCAPSULATE_SHIM"] == shim
    assert env["ENCAPSULATE_SOCKET"]


def test_signal_mask_and_dispositions_are_the_callers(run, user):
    """encapsulate blocks signals for its own loops; the command must get the
    caller's mask and ignored set, whatever they are (GNU make, for one,
    starts its children with signals 32 and 33 ignored)."""
    argv = ["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]
    bare = subprocess.run(as_user(user, argv), capture_output=True, text=True, env=user_env(user))
    r = run(argv)
    assert r.returncode == 0, r
    assert r.stdout.split()[0::2] == ["SigBlk:", "SigIgn:"]
    assert r.stdout == bare.stdout


def test_ignored_signals_stay_ignored(encapsulate, user, workdir):
    """A caller's trap '' (nohup, a background job) stays in force for the command."""
    script = "trap '' HUP INT; exec %s -w %s -- grep -E '^SigIgn:' /proc/self/status" % (
        encapsulate, workdir)
    r = subprocess.run(as_user(user, ["sh", "-c", script]), cwd=workdir, env=user_env(user),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    ignored = int(r.stdout.split()[1], 16)
    assert ignored & (1 << (signal.SIGHUP - 1)) and ignored & (1 << (signal.SIGINT - 1)), r.stdout


# ---- 4. pid namespace -------------------------------------------------------------------------


def test_only_the_sandbox_processes_are_visible(run):
    r = run([PY, "-c", "import os; print(os.getpid(), os.getppid()); "
             "print(*sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"])
    assert r.returncode == 0, r
    me, parent = r.stdout.splitlines()[0].split()
    assert (me, parent) == ("2", "1")
    assert r.stdout.splitlines()[1].split() == ["1", "2"]


def test_ps_shows_a_handful(run):
    if not shutil.which("ps"):
        pytest.skip("no ps here")
    r = run("echo $$; ps -e -o pid=,comm=")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "2"
    table = [line.split(None, 1) for line in lines[1:]]
    assert len(table) == 3, r.stdout
    assert table[0] == ["1", "encapsulate"] and table[1] == ["2", "sh"]
    assert str(os.getpid()) not in [pid for pid, _ in table]


# ---- 5. network namespace ---------------------------------------------------------------------


def test_only_loopback_exists_and_is_up(run):
    r = run([PY, "-c", "import socket, fcntl, struct\n"
             "print(*[name for _, name in socket.if_nameindex()])\n"
             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "flags = struct.unpack('16sH', fcntl.ioctl(s, 0x8913, struct.pack('16sH', b'lo', 0)))[1]\n"
             "print('up' if flags & 1 else 'down')"])
    assert r.returncode == 0, r
    assert r.stdout.split() == ["lo", "up"]


def test_ip_link_shows_only_lo(run):
    if not os.path.exists("/usr/sbin/ip") and not shutil.which("ip"):
        pytest.skip("no iproute2 here")
    r = run("PATH=$PATH:/usr/sbin:/sbin; ip -o link")
    assert r.returncode == 0, r
    [line] = r.stdout.splitlines()
    assert line.split()[1] == "lo:" and ",UP" in line.split()[2]


@pytest.mark.xfail(strict=True, reason="/sys is the host's sysfs bound read-only; a sysfs "
                   "shows the network devices of the namespace that mounted it")
def test_sys_class_net_shows_only_lo(run):
    r = run(["ls", "/sys/class/net"])
    assert r.returncode == 0, r
    assert r.stdout.split() == ["lo"]


def test_tcp_on_loopback_inside_works(run):
    script = (
        "import socket\n"
        "server = socket.create_server(('127.0.0.1', 0))\n"
        "client = socket.create_connection(server.getsockname(), timeout=5)\n"
        "conn, _ = server.accept()\n"
        "client.sendall(b'ping'); print(conn.recv(4).decode())\n")
    r = run([PY, "-c", script])
    assert r.returncode == 0 and r.stdout == "ping\n", r


def test_outside_network_is_unreachable(run):
    """Neither the internet nor a server listening on the host's loopback."""
    host_server = socket.create_server(("127.0.0.1", 0))
    try:
        port = host_server.getsockname()[1]
        script = (
            "import socket, errno, sys\n"
            "for host, port in [('127.0.0.1', %d), ('192.0.2.1', 80), ('1.1.1.1', 53)]:\n"
            "    try:\n"
            "        socket.create_connection((host, port), timeout=5); print('connected')\n"
            "    except OSError as e:\n"
            "        print(errno.errorcode.get(e.errno, e))\n" % port)
        r = run([PY, "-c", script])
        assert r.returncode == 0, r
        assert r.stdout.split() == ["ECONNREFUSED", "ENETUNREACH", "ENETUNREACH"]
    finally:
        host_server.close()


# ---- 6. nothing left on the host --------------------------------------------------------------


def test_host_mounts_and_tmp_unchanged(run, workdir):
    mounts_before = host_mountinfo()
    tmp_before = set(os.listdir("/tmp"))
    r = run("echo x > f; ls / /tmp >/dev/null; cat /proc/self/mountinfo >/dev/null")
    assert r.returncode == 0, r
    assert host_mountinfo() == mounts_before
    # Other programs (a compiler next door) may add to /tmp meanwhile: what
    # must not appear is anything of ours, e.g. the staging root's dirs.
    ours = {n for n in set(os.listdir("/tmp")) - tmp_before
            if not n.startswith("encapsulate-test-")
            and ("encapsulate" in n or n in ("oldroot", "newroot"))}
    assert not ours
    assert os.path.basename(workdir) in tmp_before


def test_hostname_cannot_be_changed(run, unique_name):
    before = socket.gethostname()
    try:
        r = run([PY, "-c", "import socket, errno\ntry:\n    socket.sethostname(%r); print('set')\n"
                 "except OSError as e:\n    print(errno.errorcode[e.errno])" % unique_name[:40]])
        assert r.returncode == 0, r
        assert r.stdout.strip() == "EPERM"
        assert socket.gethostname() == before
    finally:
        if socket.gethostname() != before and os.geteuid() == 0:
            socket.sethostname(before)


def test_no_process_outlives_the_run(run, unique_name):
    """A daemon started by the command (setsid, in the background) dies with the sandbox."""
    script = "import time; time.sleep(300)  # %s" % unique_name
    try:
        r = run("setsid %s -c '%s' </dev/null >/dev/null 2>&1 & echo started" % (PY, script))
        assert r.returncode == 0 and r.stdout == "started\n", r
        deadline = time.monotonic() + 5
        while find_processes(unique_name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert find_processes(unique_name) == []
    finally:
        for pid in find_processes(unique_name):
            os.kill(pid, signal.SIGKILL)


# ---- 7. the two command-line forms ------------------------------------------------------------


@pytest.fixture
def trees(user, workdir):
    """Directories A, B (to be writable) and C (not), each owned by the user."""
    return [mkdir_for(user, os.path.join(workdir, name)) for name in ("A", "B", "C")]


def probe(trees):
    return try_writes([os.path.join(tree, "f") for tree in trees])


def test_pipe_form_and_w_form_agree(raw, trees):
    a, b, c = trees
    expected = {os.path.join(a, "f"): "ok", os.path.join(b, "f"): "ok",
                os.path.join(c, "f"): "EROFS"}
    r = raw(["%s|%s" % (a, b)] + probe(trees))
    assert r.returncode == 0, r
    assert write_results(r.stdout) == expected
    for tree in trees:
        if os.path.exists(os.path.join(tree, "f")):
            os.unlink(os.path.join(tree, "f"))
    r = raw(["-w", a, "-w", b, "--"] + probe(trees))
    assert r.returncode == 0, r
    assert write_results(r.stdout) == expected
    assert not os.path.exists(os.path.join(c, "f"))


def test_pipe_form_skips_empty_items(raw, trees):
    a, b, c = trees
    r = raw(["|%s||%s|" % (a, b)] + probe(trees))
    assert r.returncode == 0, r
    assert list(write_results(r.stdout).values()) == ["ok", "ok", "EROFS"]


def test_w_without_double_dash(raw, trees):
    """getopt stops at the command: its own options (sh -c, python -c) are not ours."""
    a, b, c = trees
    r = raw(["-w", a] + probe(trees))
    assert r.returncode == 0, r
    assert list(write_results(r.stdout).values()) == ["ok", "EROFS", "EROFS"]
    r = raw(["--writable", a, "sh", "-c", "echo -w; echo y > %s/g" % a])
    assert r.returncode == 0 and r.stdout == "-w\n", r
    assert os.path.exists(os.path.join(a, "g"))


@pytest.mark.parametrize("order", ["outer-first", "inner-first"])
def test_nested_trees_are_both_writable(raw, user, workdir, order):
    outer = mkdir_for(user, os.path.join(workdir, "outer"))
    inner = mkdir_for(user, os.path.join(outer, "inner"))
    pair = [outer, inner] if order == "outer-first" else [inner, outer]
    args = []
    for tree in pair:
        args += ["-w", tree]
    r = raw(args + ["--"] + try_writes([os.path.join(outer, "f"), os.path.join(inner, "f"),
                                        os.path.join(workdir, "f")]))
    assert r.returncode == 0, r
    assert list(write_results(r.stdout).values()) == ["ok", "ok", "EROFS"]
    assert os.path.exists(os.path.join(inner, "f")) and os.path.exists(os.path.join(outer, "f"))


def test_tree_given_through_a_symlink(raw, user, workdir):
    real = mkdir_for(user, os.path.join(workdir, "real"))
    link = os.path.join(workdir, "link")
    os.symlink(real, link)
    r = raw(["-w", link, "--", "sh", "-c", "echo x > %s/f" % link])
    assert r.returncode == 0, r
    assert os.path.exists(os.path.join(real, "f"))


# ---- 8. command-line errors -------------------------------------------------------------------


def assert_one_line_error(r, *words):
    assert r.returncode == 125, r
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("encapsulate: "), r
    for word in words:
        assert word in lines[0], r


def test_missing_tree(raw, workdir, unique_name):
    missing = os.path.join(workdir, unique_name)
    marker = os.path.join(workdir, "ran")
    r = raw(["-w", missing, "--", "touch", marker])
    assert_one_line_error(r, missing)
    assert not os.path.exists(marker)
    r = raw(["%s|%s" % (workdir, missing), "touch", marker])
    assert_one_line_error(r, missing)
    assert not os.path.exists(marker)


def test_file_as_tree(raw, workdir):
    path = os.path.join(workdir, "plain-file")
    open(path, "w").close()
    r = raw(["-w", path, "--", "true"])
    assert_one_line_error(r, path, "directory")


def test_no_command(raw, workdir):
    assert_one_line_error(raw(["-w", workdir]), "command")
    assert_one_line_error(raw(["-w", workdir, "--"]), "command")
    assert_one_line_error(raw([workdir]), "command")
    assert_one_line_error(raw([]))


@pytest.mark.parametrize("args, named", [
    (["--bogus"], "--bogus"),
    (["-x"], "-x"),
    (["--report"], "--report"),
    (["-w"], "-w"),
])
def test_unknown_or_incomplete_option(raw, workdir, args, named):
    r = raw(args)
    assert_one_line_error(r, named)
    assert "unknown" not in r.stderr or named in ("--bogus", "-x"), r
    # Before the command it stops us; after it, it is the command's.
    if named in ("--bogus", "-x"):
        marker = os.path.join(workdir, "ran")
        r = raw(["-w", workdir] + args + ["--", "touch", marker])
        assert r.returncode == 125 and not os.path.exists(marker), r
    r = raw(["-w", workdir, "sh", "-c", 'echo "$@"', "sh"] + args)
    assert r.returncode == 0 and r.stdout.split() == args, r


def test_help_and_version(raw):
    r = raw(["--help"])
    assert r.returncode == 0 and r.stderr == "", r
    assert "-w" in r.stdout and "--report" in r.stdout and "Usage" in r.stdout
    r = raw(["-h"])
    assert r.returncode == 0 and "-w" in r.stdout, r
    r = raw(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("encapsulate ") and r.stderr == "", r


# ---- 9. exit statuses -------------------------------------------------------------------------


@pytest.mark.parametrize("cmd, status, signame", [
    ("exit 0", 0, None),
    ("exit 3", 3, None),
    ("exit 255", 255, None),
    ("kill -TERM $$", 143, "SIGTERM"),
    ("kill -SEGV $$", 139, "SIGSEGV"),
    ("kill -KILL $$", 137, "SIGKILL"),
])
def test_exit_status(run, cmd, status, signame):
    r = run(cmd)
    assert r.returncode == status, r
    assert r.report["exit"] == {"status": status, "signal": signame}


def test_command_not_found(run, unique_name):
    # A plain PATH: glibc's execvp (like env(1)) says EACCES, hence 126, when
    # some PATH directory cannot be searched (root's, for nobody).
    r = run([unique_name], env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert r.returncode == 127, r
    assert unique_name in r.stderr and "not found" in r.stderr
    assert r.report["exit"] == {"status": 127, "signal": None}


def test_command_not_executable(run, workdir):
    path = os.path.join(workdir, "script")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho ran\n")
    os.chmod(path, 0o644)
    r = run([path])
    assert r.returncode == 126, r
    assert path in r.stderr and r.stdout == ""
    r = run([workdir])  # a directory
    assert r.returncode == 126, r


def test_sigterm_to_encapsulate_reaches_the_command(spawn, workdir):
    started = os.path.join(workdir, "started")
    p = spawn(["-w", workdir, "--", "sh", "-c", "touch %s; exec sleep 60" % started])
    wait_for(started)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=20)
    assert p.returncode == 143


# ---- 10. capabilities -------------------------------------------------------------------------


def test_no_capabilities_and_no_new_privs(run):
    r = run(["cat", "/proc/self/status"])
    assert r.returncode == 0, r
    status = dict(line.split(":\t", 1) for line in r.stdout.splitlines() if ":\t" in line)
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert status[field].strip() == "0" * 16, field
    assert status["NoNewPrivs"].strip() == "1"


def test_cannot_remount_the_view_writable(run, unique_name):
    target = "/tmp/%s" % unique_name
    points = ["/"] + (["/sys/fs/cgroup"] if os.path.ismount("/sys/fs/cgroup") else [])
    try:
        r = run([PY, "-c", UNLOCK_VIEW, "here", target] + points)
        assert r.returncode == 0, r
        lines = r.stdout.splitlines()
        assert lines[0] == "CapEff 0000000000000000", r
        for point in points:
            assert "remount %s EPERM" % point in lines, r
            assert "umount %s EPERM" % point in lines, r
        assert lines[-1] == "write EROFS", r
        r = run("mount -o remount,rw / 2>/dev/null; echo rc=$?; "
                "mount -o remount,bind,rw / 2>/dev/null; echo rc=$?")
        assert "rc=0" not in r.stdout.split(), r
        assert not os.path.exists(target)
    finally:
        if os.path.exists(target):
            os.unlink(target)


# Tries to remount read-write and to unmount each mount point, then to write
# outside; in a new user+mount namespace first when argv[1] is "nested".
UNLOCK_VIEW = (
    "import ctypes, errno, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "nested, target, points = sys.argv[1] == 'nested', sys.argv[2], sys.argv[3:]\n"
    "if nested and libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER|CLONE_NEWNS\n"
    "    print('unshare', errno.errorcode[ctypes.get_errno()]); sys.exit()\n"
    "print('CapEff', [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0])\n"
    "MS_REMOUNT, MS_BIND, MNT_DETACH = 32, 4096, 2\n"
    "for path in points:\n"
    "    ok = libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND, None) == 0\n"
    "    print('remount', path, 'ok' if ok else errno.errorcode[ctypes.get_errno()])\n"
    "    ok = libc.umount2(path.encode(), MNT_DETACH) == 0\n"
    "    print('umount', path, 'ok' if ok else errno.errorcode[ctypes.get_errno()])\n"
    "try:\n"
    "    open(target, 'w'); print('write ok')\n"
    "except OSError as e:\n"
    "    print('write', errno.errorcode[e.errno])\n"
)


def test_nested_user_namespace_cannot_unlock_the_view(run, unique_name):
    """Full capabilities in a new user+mount namespace still cannot remount
    or unmount the view: the kernel locks mounts inherited from a more
    privileged namespace."""
    target = "/tmp/%s" % unique_name
    points = ["/"] + (["/sys/fs/cgroup"] if os.path.ismount("/sys/fs/cgroup") else [])
    try:
        r = run([PY, "-c", UNLOCK_VIEW, "nested", target] + points)
        assert r.returncode == 0, r
        lines = r.stdout.splitlines()
        if lines[0].startswith("unshare"):
            pytest.skip("no nested user namespaces here: %s" % lines[0])
        assert lines[0] != "CapEff 0000000000000000", r  # the premise: privileged in there
        for point in points:
            assert "remount %s EPERM" % point in lines, r
            assert "umount %s ok" % point not in lines, r
        assert lines[-1] == "write EROFS", r
        assert not os.path.exists(target)
    finally:
        if os.path.exists(target):
            os.unlink(target)


# ---- 11. the summary --------------------------------------------------------------------------


def test_silent_without_violations(run):
    r = run("echo x > inside")
    assert r.returncode == 0, r
    assert r.stderr == "", r
    assert r.report["violations"] == []


def test_verbose_says_there_were_none(run):
    r = run("echo x > inside", options=["--verbose"])
    assert r.returncode == 0, r
    lines = r.stderr.splitlines()
    assert any("no writes outside" in line for line in lines), r
    assert all(line.startswith(("encapsulate:", "  ")) for line in lines), r


def test_summary_with_a_violation(run, unique_name):
    target = "/tmp/%s" % unique_name
    try:
        r = run("echo x > %s 2>/dev/null; true" % target)
        assert r.returncode == 0, r
        assert "1 write attempt outside" in r.stderr and unique_name in r.stderr
    finally:
        if os.path.exists(target):
            os.unlink(target)


# ---- 12. the report file ----------------------------------------------------------------------


def test_report_in_a_missing_directory_fails_before_running(raw, workdir, unique_name):
    marker = os.path.join(workdir, "ran")
    report = os.path.join(workdir, unique_name, "report.json")
    r = raw(["--report", report, "-w", workdir, "--", "touch", marker])
    assert_one_line_error(r, report)
    assert not os.path.exists(marker)
    assert not os.path.exists(os.path.dirname(report))


def test_report_in_an_unwritable_directory_fails_before_running(raw, user, workdir):
    if user != "nobody":
        pytest.skip("root can write anywhere")
    marker = os.path.join(workdir, "ran")
    r = raw(["--report", "/etc/encapsulate-report.json", "-w", workdir, "--", "touch", marker])
    assert_one_line_error(r, "/etc/encapsulate-report.json")
    assert not os.path.exists(marker)


def test_report_appears_only_complete(spawn, workdir):
    """While the command runs the report's directory holds no partial file;
    afterwards exactly the report, as valid JSON."""
    reports = os.path.join(workdir, "reports")
    os.mkdir(reports)
    os.chmod(reports, 0o777)
    report = os.path.join(reports, "r.json")
    started = os.path.join(workdir, "started")
    p = spawn(["--report", report, "-w", workdir, "--", "sh", "-c",
               "ls -A %s > %s/during; touch %s" % (reports, workdir, started)])
    p.communicate(timeout=60)
    assert p.returncode == 0
    assert open(os.path.join(workdir, "during")).read() == ""
    assert os.listdir(reports) == ["r.json"]
    data = json.load(open(report))
    assert data["encapsulate_report"] == 1 and data["exit"]["status"] == 0


def test_killed_encapsulate_leaves_the_old_report(spawn, workdir):
    reports = os.path.join(workdir, "reports")
    os.mkdir(reports)
    os.chmod(reports, 0o777)
    report = os.path.join(reports, "r.json")
    with open(report, "w") as f:
        f.write("old")
    os.chmod(report, 0o666)
    started = os.path.join(workdir, "started")
    p = spawn(["--report", report, "-w", workdir, "--", "sh", "-c",
               "touch %s; exec sleep 60" % started])
    wait_for(started)
    p.kill()
    p.communicate(timeout=20)
    assert open(report).read() == "old"
    assert os.listdir(reports) == ["r.json"]


def test_report_replaces_an_old_one(run, workdir):
    report = os.path.join(workdir, "r.json")
    with open(report, "w") as f:
        f.write("old")
    os.chmod(report, 0o666)
    r = run("exit 7", options=["--report", report])
    assert r.returncode == 7, r
    assert json.load(open(report))["exit"] == {"status": 7, "signal": None}
    assert sorted(n for n in os.listdir(workdir) if not n.startswith(".report-")) == ["r.json"]


def test_report_to_a_directory_fails_before_running(raw, workdir):
    r = raw(["--report", workdir, "-w", workdir, "--", "touch", "ran"])
    assert r.returncode == 125, r
    assert "Is a directory" in r.stderr and workdir in r.stderr
    assert not os.path.exists(os.path.join(workdir, "ran"))


def test_report_to_stdout_is_written_in_place(raw, workdir):
    """--report /dev/stdout writes the JSON there; the device node is never replaced."""
    before = os.lstat("/dev/stdout")
    r = raw(["--report", "/dev/stdout", "-w", workdir, "--", "true"])
    assert r.returncode == 0, r
    assert json.loads(r.stdout)["encapsulate_report"] == 1
    after = os.lstat("/dev/stdout")
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_report_through_a_symlink_keeps_the_link(raw, workdir):
    link = os.path.join(workdir, "link.json")
    os.symlink("real.json", link)
    for _ in range(2):  # first the target is missing, then it exists
        r = raw(["--report", link, "-w", workdir, "--", "true"])
        assert r.returncode == 0, r
        assert os.path.islink(link)
        with open(os.path.join(workdir, "real.json")) as f:
            assert json.load(f)["exit"]["status"] == 0


def test_closed_stderr_keeps_the_report_and_status(encapsulate, user, workdir, unique_name):
    """A summary written into a closed pipe must not kill encapsulate before the report."""
    report = os.path.join(workdir, "r.json")
    script = "%s --report %s -w %s -- sh -c 'exec 2>/dev/null; echo > /etc/%s; exit 7' 2>&1 | true; echo ${PIPESTATUS[0]}" % (
        encapsulate, report, workdir, unique_name)
    r = subprocess.run(as_user(user, ["bash", "-c", script]), cwd=workdir, env=user_env(user),
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "7", r
    with open(report) as f:
        assert json.load(f)["exit"]["status"] == 7


# ---- the summary's text ----------------------------------------------------------------------


def test_summary_escapes_control_characters(run, unique_name):
    """A file name with an escape sequence or a newline cannot drive the terminal or break lines."""
    name = "/etc/%s-\x1b[31m-\n-x" % unique_name
    r = run([PY, "-c", "import sys\ntry: open(sys.argv[1], 'w')\nexcept OSError: pass", name])
    assert r.returncode == 0, r
    assert "\x1b" not in r.stderr
    assert "%s-\\x1b[31m-\\n-x" % unique_name in r.stderr
    assert [v["path"] for v in r.report["violations"]] == [name]


def test_summary_counts_paths_not_operations(run, unique_name):
    r = run("touch /etc/%s 2>/dev/null; true" % unique_name)
    assert r.returncode == 0, r
    assert len(r.report["violations"]) >= 2  # open EROFS, then utime ENOENT
    assert "(1 path, 1 process)" in r.stderr


def test_rename_out_of_a_tree_is_listed_under_its_destination(run, workdir, unique_name):
    r = run("echo x > f; mv f /usr/local/%s 2>/dev/null; true" % unique_name)
    assert r.returncode == 0, r
    destination = "/usr/local/%s" % unique_name
    [rename] = r.violations(op="rename")
    assert rename["path"] == os.path.join(workdir, "f") and rename["to"] == destination
    assert rename["errno"] == "EXDEV"
    assert "  /usr/local/  (" in r.stderr
    assert "  %s/  (" % workdir not in r.stderr
    assert not os.path.exists(destination)


def test_kernel_knobs_in_proc_are_read_only(run):
    """uid 0 may write most of /proc/sys without capabilities: inside, /proc/sys
    is read-only (the test writes back the current value, so a failure changes nothing)."""
    with open("/proc/sys/kernel/printk") as f:
        current = f.read().split()[0]
    r = run([PY, "-c", "import sys, errno\ntry:\n    open('/proc/sys/kernel/printk', 'w').write(sys.argv[1])\n"
             "    print('written')\nexcept OSError as e:\n    print(errno.errorcode[e.errno])\n"
             "open('/proc/self/comm', 'w').write('renamed')\nprint(open('/proc/self/comm').read().strip())",
             current])
    assert r.returncode == 0, r
    assert r.stdout.split() == ["EROFS", "renamed"], r
    [v] = r.violations(path="/proc/sys/kernel/printk")
    assert v["errno"] == "EROFS"
    assert not r.violations(path="/proc/self/comm")


def test_devices_are_not_violations_but_new_nodes_in_dev_are(run, unique_name):
    r = run("echo > /dev/null; echo > /dev/stdout; mkfifo /dev/%s 2>/dev/null; touch /dev/shm/x; true"
            % unique_name)
    assert r.returncode == 0, r
    assert [v["path"] for v in r.report["violations"]] == ["/dev/%s" % unique_name]
    assert not os.path.exists("/dev/%s" % unique_name)


def test_summary_escapes_bytes_that_are_not_utf8(encapsulate, user, workdir, unique_name):
    """A file name that is not UTF-8 is shown as \\xNN, so the summary stays valid text."""
    name = b"/etc/" + unique_name.encode() + b"-\xff-\xc3\xa9"
    r = subprocess.run(as_user(user, [encapsulate, "-w", workdir, "--", PY, "-c",
                                      "import sys, os\ntry: open(os.fsencode(sys.argv[1]), 'w')\n"
                                      "except OSError: pass", os.fsdecode(name)]),
                       cwd=workdir, env=user_env(user), capture_output=True, timeout=60)
    assert r.returncode == 0, r
    summary = r.stderr.decode("utf-8")  # raises if a raw 0xff byte got through
    assert "%s-\\xff-\u00e9" % unique_name in summary


def test_forged_events_of_impossible_shape_are_dropped(run, unique_name):
    """Any program inside can reach the event socket: a write event with no
    operation, or an open carrying a second path, never reaches the report."""
    script = r"""
import os, socket, struct
def send(operation, *strings):
    header = struct.pack("<IHHiiiiIIII", 0x31434e45, 2, operation, os.getpid(), os.getppid(),
                         -1, 30, 0, 0, len(strings), 0)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(header + b"".join(x.encode() + b"\0" for x in strings),
             "\0" + os.environ["ENCAPSULATE_SOCKET"])
send(0, "/etc/%(n)s-none", "/etc/%(n)s-none")                      # OP_NONE
send(1, "/etc/%(n)s-open", "/etc/%(n)s-open", "x", "/etc/%(n)s-to")  # open with a "to"
send(1, "/etc/%(n)s-fine", "/etc/%(n)s-fine")                      # a well-formed one
""" % {"n": unique_name}
    r = run([PY, "-c", script])
    assert r.returncode == 0, r
    assert [v["path"] for v in r.report["violations"]] == ["/etc/%s-fine" % unique_name]
