"""The shim on real programs, at volume, and in awkward corners (issue 3).

Real cases are run as a new user would type them: python's subprocess
(vfork/posix_spawn) starting 200 touch processes, touch, install, tar, a
cmake export(PACKAGE) into a missing ~/.cmake, a python import writing
__pycache__ into a read-only library directory.

Volume: one process making 1,000,000 write attempts, and 32 processes
writing at once; the report must count every attempt exactly.  The wall
time is printed (pytest -s shows it), not asserted.

Behaviour: the shim's constructor leaves errno 0 and prints nothing; a
deleted cwd crashes nothing; unlinking a symlink names the link; ".." and
symlinks in the parent are resolved.

Every test runs as root and as nobody.  Writes outside go to unique names
(nothing is created: the view is read-only) and whatever a test creates on
the host is removed afterwards.
"""
import collections
import os
import shutil
import subprocess
import tarfile
import textwrap
import time

import pytest

from conftest import NOBODY

CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"]
PYTHON = "/usr/bin/python3"  # Debian's, readable by nobody (not a pyenv shim under /root)


# ---- helpers ------------------------------------------------------------------------


def make_dirs(user, *paths):
    """Creates each directory (mode 755), owned by the test user."""
    for path in paths:
        os.makedirs(path, mode=0o755, exist_ok=True)
        os.chmod(path, 0o755)
        if user == "nobody":
            os.chown(path, NOBODY, NOBODY)


def compile_c(workdir, name, source):
    """Builds `source` into workdir/name, executable by every test user."""
    source_path = os.path.join(workdir, name + ".c")
    with open(source_path, "w") as f:
        f.write(textwrap.dedent(source))
    binary = os.path.join(workdir, name)
    subprocess.run(["gcc"] + CFLAGS + ["-o", binary, source_path], check=True,
                   env=dict(os.environ, TMPDIR=workdir))
    os.chmod(binary, 0o755)
    return binary


def processes_by_id(r):
    return {p["id"]: p for p in r.report["processes"]}


def argv_of(r, violation):
    return processes_by_id(r)[violation["process"]]["argv"]


def no_host_file(*paths):
    for path in paths:
        assert not os.path.lexists(path), "%s was created on the host" % path


@pytest.fixture
def host_paths():
    """Paths outside the sandbox that a test creates itself; removed after."""
    paths = []
    yield paths
    for path in reversed(paths):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)


# ---- real cases -----------------------------------------------------------------------


def test_python_subprocess_200_touch(run, user, unique_name):
    """subprocess.run uses vfork/posix_spawn: each touch still loads the
    shim and its attempts are its own."""
    names = ["/etc/%s%d" % (unique_name, i) for i in range(200)]
    script = ('import subprocess; [subprocess.run(["touch", "/etc/%s%%d" %% i], '
              'stderr=subprocess.DEVNULL) for i in range(200)]' % unique_name)
    r = run([PYTHON, "-c", script])
    assert r.returncode == 0, r
    processes = processes_by_id(r)
    [python] = [p for p in processes.values()
                if p["argv"][:2] == [PYTHON, "-c"] and not p["forked"]]
    touches = {}
    for name in names:
        found = [v for v in r.report["violations"] if v["path"] == name]
        assert {v["op"] for v in found} >= {"open"}, (name, found)
        for v in found:
            process = processes[v["process"]]
            assert process["argv"] == ["touch", name], process
            assert process["exe"] == "/usr/bin/touch"
            assert process["parent"] == python["id"]
            assert v["count"] == 1
            touches[name] = process["id"]
    assert len(set(touches.values())) == 200
    assert sum(v["count"] for v in r.report["violations"] if v["op"] == "open") == 200
    no_host_file(*names)


def test_touch_under_usr(run, user, unique_name):
    target = "/usr/%s" % unique_name
    r = run(["touch", target])
    assert r.returncode == 1, r
    assert "Read-only file system" in r.stderr
    ops = {v["op"]: v for v in r.report["violations"] if v["path"] == target}
    # touch opens O_CREAT, then sets the times by name (utimensat).
    assert set(ops) == {"open", "utime"}, r.report["violations"]
    assert ops["open"]["errno"] == "EROFS"
    assert "O_CREAT" in ops["open"]["flags"]
    for v in ops.values():
        assert argv_of(r, v) == ["touch", target]
    no_host_file(target)


def test_install_into_usr_local_bin(run, user, workdir, unique_name):
    source = os.path.join(workdir, "f")
    with open(source, "w") as f:
        f.write("#!/bin/sh\n")
    target = "/usr/local/bin/%s" % unique_name
    r = run(["install", "-m755", "f", target])
    assert r.returncode == 1, r
    [v] = r.violations(path=target)
    assert (v["op"], v["errno"]) == ("open", "EROFS")
    assert "O_CREAT" in v["flags"] and "O_WRONLY" in v["flags"]
    assert argv_of(r, v) == ["install", "-m755", "f", target]
    no_host_file(target)


def test_tar_extract_into_opt(run, user, workdir, unique_name):
    """tar -C opens the directory and creates relative to it (openat on a
    dirfd; the fortified entry points for the opens without O_CREAT)."""
    tree = os.path.join(workdir, "tree")
    os.makedirs(os.path.join(tree, unique_name))
    for name in ("%s.txt" % unique_name, "%s/file" % unique_name):
        with open(os.path.join(tree, name), "w") as f:
            f.write("data\n")
    with tarfile.open(os.path.join(workdir, "a.tar"), "w") as archive:
        archive.add(os.path.join(tree, "%s.txt" % unique_name), arcname="%s.txt" % unique_name)
        archive.add(os.path.join(tree, unique_name), arcname=unique_name)
    os.chmod(os.path.join(workdir, "a.tar"), 0o644)
    r = run(["tar", "-C", "/opt", "-xf", "a.tar"])
    assert r.returncode == 2, r
    argv = ["tar", "-C", "/opt", "-xf", "a.tar"]
    by_path = collections.defaultdict(set)
    for v in r.report["violations"]:
        assert argv_of(r, v) == argv, v
        by_path[v["path"]].add((v["op"], v["errno"]))
    assert ("open", "EROFS") in by_path["/opt/%s.txt" % unique_name], by_path
    assert ("mkdir", "EROFS") in by_path["/opt/%s" % unique_name], by_path
    # Its parent was never made: still a violation, with the resolved path.
    assert {op for op, _ in by_path["/opt/%s/file" % unique_name]} == {"open"}, by_path
    no_host_file("/opt/%s.txt" % unique_name, "/opt/%s" % unique_name)


CMAKE_PROJECT = """\
cmake_minimum_required(VERSION 3.15)
project(Foo NONE)
# CMP0090 (3.15): export(PACKAGE) fills the user package registry only
# when asked.
set(CMAKE_EXPORT_PACKAGE_REGISTRY ON)
export(PACKAGE Foo)
"""


def test_cmake_export_package_into_missing_home_cmake(run, user, workdir):
    """~/.cmake does not exist and HOME is outside the writable trees:
    cmake's mkdirs and its std::ofstream under ~/.cmake/packages fail
    (EROFS, then ENOENT) and every one is a violation, by cmake."""
    src, build, home = (os.path.join(workdir, d) for d in ("src", "build", "home"))
    make_dirs(user, src, build, home)
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write(CMAKE_PROJECT)
    r = run(["cmake", "-S", src, "-B", build], writable=[build], env={"HOME": home})
    assert r.returncode == 0, r
    registry = os.path.join(home, ".cmake", "packages", "Foo")
    found = {(v["op"], v["path"], v["errno"]) for v in r.report["violations"]}
    assert ("mkdir", os.path.join(home, ".cmake"), "EROFS") in found, found
    opens = [v for v in r.report["violations"]
             if v["op"] == "open" and v["path"].startswith(registry + "/")]
    assert opens, found
    for v in opens:
        assert v["errno"] == "ENOENT"
        assert "O_CREAT" in v["flags"]
    for v in r.report["violations"]:
        assert argv_of(r, v)[0] == "cmake", v
        # Nothing but the registry: cmake's mkdir("") of an absolute path's
        # root names no file (it once showed as "mkdir <cwd> ENOENT").
        assert v["path"].startswith(os.path.join(home, ".cmake")), v
    assert not os.path.exists(os.path.join(home, ".cmake"))
    assert os.path.exists(os.path.join(build, "CMakeCache.txt"))


def test_python_import_writes_pycache_into_read_only_library(run, user, unique_name, host_paths):
    library = "/var/tmp/%s" % unique_name
    host_paths.append(library)
    package = os.path.join(library, "xqpkg")
    os.makedirs(package)
    os.chmod(library, 0o755)
    os.chmod(package, 0o755)
    with open(os.path.join(package, "__init__.py"), "w") as f:
        f.write("VALUE = 42\n")
    os.chmod(os.path.join(package, "__init__.py"), 0o644)
    r = run([PYTHON, "-c", "import xqpkg; print(xqpkg.VALUE)"],
            env={"PYTHONPATH": library, "PYTHONDONTWRITEBYTECODE": ""})
    assert r.returncode == 0, r
    assert r.stdout == "42\n"
    pycache = os.path.join(package, "__pycache__")
    found = [v for v in r.report["violations"] if v["path"].startswith(pycache)]
    assert found, r.report["violations"]
    [mkdir] = [v for v in found if v["op"] == "mkdir"]
    assert mkdir["path"] == pycache
    assert mkdir["errno"] in ("EROFS", "EACCES")
    assert argv_of(r, mkdir)[:2] == [PYTHON, "-c"]
    assert os.listdir(package) == ["__init__.py"]


# ---- volume -------------------------------------------------------------------------------

WRITER = r"""
    /* writer PREFIX ATTEMPTS DISTINCT CHILDREN: ATTEMPTS failed
     * open(O_WRONLY|O_CREAT) calls on PREFIX<i % DISTINCT>, made by this
     * process (CHILDREN 0) or by each of CHILDREN forked children at once
     * (their prefix gets "<child>-").  Exits 0 only if every open failed. */
    #include <fcntl.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/wait.h>
    #include <unistd.h>

    static int attempts(const char *prefix, long count, long distinct)
    {
        char path[4096];
        long failed = 0;
        for (long i = 0; i < count; i++) {
            snprintf(path, sizeof path, "%s%ld", prefix, i % distinct);
            int fd = open(path, O_WRONLY | O_CREAT, 0644);
            if (fd < 0)
                failed++;
            else
                close(fd);
        }
        return failed == count ? 0 : 1;
    }

    int main(int argc, char **argv)
    {
        if (argc != 5)
            return 2;
        long count = atol(argv[2]), distinct = atol(argv[3]), children = atol(argv[4]);
        if (children == 0)
            return attempts(argv[1], count, distinct);
        for (long c = 0; c < children; c++) {
            pid_t pid = fork();
            if (pid < 0)
                return 3;
            if (pid == 0) {
                char prefix[4096];
                snprintf(prefix, sizeof prefix, "%s%ld-", argv[1], c);
                _exit(attempts(prefix, count, distinct));
            }
        }
        int status, bad = 0;
        while (wait(&status) > 0)
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                bad = 1;
        return bad;
    }
"""


def test_one_million_attempts_from_one_process(run, user, workdir, unique_name):
    writer = compile_c(workdir, "writer", WRITER)
    prefix = "/usr/%s-" % unique_name
    start = time.monotonic()
    r = run([writer, prefix, "1000000", "1000", "0"], timeout=600)
    elapsed = time.monotonic() - start
    print("\n1,000,000 attempts from one process (%s): %.1f s" % (user, elapsed))
    assert r.returncode == 0, r
    violations = r.report["violations"]
    assert sum(v["count"] for v in violations) == 1000000
    assert len(violations) == 1000
    [writer_process] = [p for p in r.report["processes"] if p["argv"][0] == writer]
    for v in violations:
        assert v["process"] == writer_process["id"]
        assert (v["op"], v["errno"], v["count"]) == ("open", "EROFS", 1000)
    assert {v["path"] for v in violations} == {"%s%d" % (prefix, i) for i in range(1000)}
    assert "1000000 write attempts outside" in r.stderr
    # Every datagram was a well-formed event (1 process record + 1,000,000).
    assert r.report["events"] == 1000001


def test_32_processes_writing_at_once(run, user, workdir, unique_name):
    writer = compile_c(workdir, "writer", WRITER)
    prefix = "/usr/%s-" % unique_name
    start = time.monotonic()
    r = run([writer, prefix, "10000", "100", "32"], timeout=600)
    elapsed = time.monotonic() - start
    print("\n32 processes x 10,000 attempts (%s): %.1f s" % (user, elapsed))
    assert r.returncode == 0, r
    processes = processes_by_id(r)
    per_process = collections.Counter()
    per_path = collections.Counter()
    children = collections.defaultdict(set)
    for v in r.report["violations"]:
        assert (v["op"], v["errno"]) == ("open", "EROFS"), v
        per_process[v["process"]] += v["count"]
        per_path[v["path"]] += v["count"]
        # A child's paths carry its number: each process wrote only its own.
        children[v["process"]].add(v["path"][len(prefix):].split("-")[0])
    assert len(per_process) == 32
    assert sorted(min(c) for c in children.values()) == sorted(str(c) for c in range(32))
    assert all(len(c) == 1 for c in children.values())
    assert set(per_process.values()) == {10000}
    assert len(per_path) == 3200 and set(per_path.values()) == {100}
    main = [p for p in processes.values() if not p["forked"] and p["argv"][0] == writer]
    assert len(main) == 1
    for ident in per_process:
        child = processes[ident]
        assert child["forked"] and child["parent"] == main[0]["id"], child
    assert "320000 write attempts outside" in r.stderr


# ---- behaviour ----------------------------------------------------------------------------

ERRNO_AT_MAIN = r"""
    #include <errno.h>
    #include <stdio.h>

    static int errno_in_constructor = -1;

    __attribute__((constructor)) static void early(void)
    {
        errno_in_constructor = errno;
    }

    int main(void)
    {
        int at_main = errno;
        printf("constructor=%d main=%d\n", errno_in_constructor, at_main);
        return 0;
    }
"""


def test_constructor_leaves_errno_zero_and_prints_nothing(run, user, workdir):
    program = compile_c(workdir, "errno_at_main", ERRNO_AT_MAIN)
    plain = subprocess.run([program], capture_output=True, text=True)
    assert plain.stdout == "constructor=0 main=0\n"
    r = run([program])
    assert r.returncode == 0, r
    assert r.stdout == "constructor=0 main=0\n"
    assert r.stderr == ""
    # The shim was there (its process record), and saw no write.
    assert [p["argv"] for p in r.report["processes"]] == [[program]]
    assert r.report["violations"] == [] and r.report["writes"] == []


def test_deleted_cwd(run, user, workdir, unique_name):
    """mkdir d; cd d; rmdir ../d: the processes started there and the
    writes made from there crash nothing; a write reaching outside through
    ".." is reported with its resolved path."""
    tree = os.path.join(workdir, "w")
    make_dirs(user, tree)
    outside_name = os.path.join(workdir, unique_name)
    script = textwrap.dedent("""\
        mkdir d && cd d && rmdir ../d || exit 9
        touch relative; echo "touch=$?"
        mkdir sub; echo "mkdir=$?"
        chmod 700 .; echo "chmod=$?"
        touch ../../%s; echo "escape=$?"
        %s -c 'open("py", "w")' 2>/dev/null; echo "python=$?"
        echo done
    """ % (unique_name, PYTHON))
    r = run(["sh", "-c", script], writable=[tree], cwd=tree)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["touch=1", "mkdir=1", "chmod=0", "escape=1", "python=1",
                                "done"], r
    assert "Segmentation" not in r.stderr and "core dumped" not in r.stderr
    [v] = r.violations(path=outside_name, op="open")
    assert v["errno"] == "EROFS"
    assert argv_of(r, v) == ["touch", "../../%s" % unique_name]
    # chmod of the deleted directory itself succeeded: a write inside,
    # under the name the kernel gives it ("<path> (deleted)").
    [chmod] = [w for w in r.report["writes"] if w["op"] == "chmod"]
    assert chmod["path"].startswith(os.path.join(tree, "d")), chmod
    # The writes that failed inside the tree are no violations.
    assert [v for v in r.report["violations"] if v["path"] != outside_name] == [], r.report
    no_host_file(outside_name)


def test_unlinking_a_symlink_names_the_link(run, user, workdir):
    """rm of a link outside the trees whose target is inside: the violation
    is the link; rm of a link inside whose target is outside: a write of the
    link, the target untouched."""
    tree = os.path.join(workdir, "w")
    make_dirs(user, tree)
    target_inside = os.path.join(tree, "target")
    with open(target_inside, "w") as f:
        f.write("inside\n")
    link_outside = os.path.join(workdir, "link-out")
    os.symlink(target_inside, link_outside)
    link_inside = os.path.join(tree, "link-in")
    os.symlink("/etc/passwd", link_inside)
    if user == "nobody":
        for path in (target_inside, link_outside, link_inside):
            os.lchown(path, NOBODY, NOBODY)
    r = run("rm -f %s; echo $?; rm -f %s; echo $?" % (link_outside, link_inside),
            writable=[tree])
    assert r.stdout.split() == ["1", "0"], r
    [v] = r.report["violations"]
    assert (v["path"], v["op"], v["errno"]) == (link_outside, "unlink", "EROFS")
    assert [(w["path"], w["op"]) for w in r.report["writes"]] == [(link_inside, "unlink")]
    assert os.path.islink(link_outside) and os.path.exists(target_inside)
    assert not os.path.lexists(link_inside) and os.path.exists("/etc/passwd")


def test_dotdot_and_symlinks_in_the_parent_are_resolved(run, user, workdir, unique_name):
    tree = os.path.join(workdir, "w")
    out = os.path.join(workdir, "out")
    make_dirs(user, tree, os.path.join(tree, "sub"), out)
    os.symlink(out, os.path.join(tree, "up"))          # inside -> outside
    os.symlink(tree, os.path.join(out, "in"))          # outside -> inside
    os.symlink("../w/sub", os.path.join(out, "rel"))   # relative, outside -> inside
    cmd = ("touch w/up/a; touch w/sub/../../out/b; mkdir w/sub/../up/c; "
           "touch out/in/d; touch out/rel/../e; touch out/rel/f; exit 0")
    r = run(cmd, writable=[tree])
    assert r.returncode == 0, r
    # (touch also sets the times by name: a utime attempt beside each open)
    violations = {(v["op"], v["path"]) for v in r.report["violations"] if v["op"] != "utime"}
    assert {v["path"] for v in r.report["violations"] if v["op"] == "utime"} == {
        os.path.join(out, "a"), os.path.join(out, "b")}
    assert violations == {("open", os.path.join(out, "a")), ("open", os.path.join(out, "b")),
                          ("mkdir", os.path.join(out, "c"))}, r.report["violations"]
    writes = {(w["op"], w["path"]) for w in r.report["writes"] if w["op"] == "open"}
    # out/rel/../e: ".." after a symlink is taken in the link's target (w/sub/..).
    assert writes == {("open", os.path.join(tree, "d")), ("open", os.path.join(tree, "e")),
                      ("open", os.path.join(tree, "sub", "f"))}, r.report["writes"]
    assert sorted(os.listdir(out)) == ["in", "rel"]


def test_a_reused_event_descriptor_never_receives_events(run, unique_name):
    """A program that puts its own connected socket on the shim's descriptor
    number must not get our datagrams as its data; the event still arrives."""
    target = "/etc/%s" % unique_name
    script = (
        "import os, socket\n"
        "ours = [int(n) for n in os.listdir('/proc/self/fd') if int(n) >= 900]\n"
        "assert ours, 'the shim keeps its socket at 900 or above'\n"
        "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
        "for fd in ours:\n"
        "    os.dup2(a.fileno(), fd)\n"
        "try:\n"
        "    open(%r, 'w')\n"
        "except OSError:\n"
        "    pass\n"
        "b.setblocking(False)\n"
        "try:\n"
        "    print('leaked', len(b.recv(65536)))\n"
        "except BlockingIOError:\n"
        "    print('clean')\n" % target)
    r = run(["/usr/bin/python3", "-c", script])
    assert r.returncode == 0, r
    assert r.stdout.strip() == "clean"
    assert [v["path"] for v in r.violations(op="open")] == [target]


def test_spawning_with_a_large_environment_leaks_no_memory(run):
    """posix_spawn with a big envp lacking the shim: the copy made in fresh
    pages is unmapped again (1000 spawns would otherwise keep ~4 MiB)."""
    script = (
        "import os\n"
        "env = {'VAR%d' % i: 'x' * 20 for i in range(300)}\n"
        "def size():\n"
        "    return int([l for l in open('/proc/self/status') if l.startswith('VmSize')][0].split()[1])\n"
        "def spawn():\n"
        "    os.waitpid(os.posix_spawn('/bin/true', ['true'], env), 0)\n"
        "for _ in range(50):\n"
        "    spawn()\n"
        "before = size()\n"
        "for _ in range(1000):\n"
        "    spawn()\n"
        "print(size() - before)\n")
    r = run(["/usr/bin/python3", "-c", script], timeout=300)
    assert r.returncode == 0, r
    assert int(r.stdout) < 1024, "VmSize grew by %s KiB" % r.stdout.strip()


ENVIRON_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
extern char **environ;
static size_t count(void) { size_t n = 0; while (environ[n]) n++; return n; }
int main(void)
{
	char **before = environ;
	size_t entries = count();
	char *argv[] = { "x", NULL }, *envp[] = { NULL };
	execve("/nonexistent/program", argv, envp);   /* fails; the shim built an envp */
	printf("%d %d %s\n", environ == before, count() == entries,
	       getenv("LD_PRELOAD") ? "kept" : "lost");
	unsetenv("LD_PRELOAD");
	if (system("true") != 0)
		return 3;
	printf("%s\n", getenv("LD_PRELOAD") ? "put back into environ" : "still unset");
	return 0;
}
"""


def test_exec_wrappers_never_modify_environ(run, workdir):
    """The shim hands the shim's variables to the exec, never to the caller's environ."""
    program = compile_c(workdir, "environ", ENVIRON_PROGRAM)
    r = run([program])
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == ["1 1 kept", "still unset"], r


def test_a_users_own_preload_is_kept(run, unique_name):
    """A program that sets LD_PRELOAD to a library of its own keeps it, with
    the shim put in front so that its children stay traced."""
    own = "/lib/x86_64-linux-gnu/libm.so.6"
    target = "/etc/%s" % unique_name
    r = run(["env", "LD_PRELOAD=%s" % own, "sh", "-c",
             'echo "$LD_PRELOAD"; touch %s 2>/dev/null; true' % target])
    assert r.returncode == 0, r
    entries = r.stdout.split()
    assert entries[-1] == own and len(entries) == 2 and entries[0].endswith("libencapsulate.so"), r
    assert [v["path"] for v in r.violations(op="open")] == [target]


def test_paths_resolve_through_proc_self_in_a_nested_pid_namespace(run, user, workdir):
    """In a pid namespace of the build's own, getpid() is small and /proc/<it>
    names another process of the sandbox: the shim must resolve through
    /proc/self.  Here /proc/2 is the outer shell, whose cwd is elsewhere."""
    if user == "root":
        pytest.skip("mapping uid 0 in a nested user namespace needs CAP_SETFCAP, dropped inside")
    probe = run(["unshare", "-Ur", "true"], report=False)
    if probe.returncode != 0:
        pytest.skip("no nested user namespaces here: %s" % probe.stderr.strip())
    r = run("mkdir -p sub other; cd sub; "
            "unshare -Ur -p -f sh -c 'cd ../other; echo $$; exec touch relative'")
    assert r.returncode == 0, r
    assert r.stdout.split() == ["1"]
    paths = {w["path"] for w in r.report["writes"] if w["op"] == "open"}
    assert paths == {os.path.join(workdir, "other", "relative")}, r.report["writes"]
