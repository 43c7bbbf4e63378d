"""The shim, one libc entry point at a time.

tests/programs/shimcall.c calls ONE named libc function with arguments from
argv and prints "rc=<value> errno=<NAME>".  Every row of shim/interpose.def
has a case in WRITE_CASES, EXEC_CASES, FILE_ACTION_CASES, SHELL_CASES or
SYSCALL_CASES below (tests/test_shim_table.py checks that), and is exercised through that exact symbol: shimcall is built
with -U_FORTIFY_SOURCE -O0 and calls __open_2 & co. by name.

Each write case runs twice in the same sandbox: under the shim, and again
with --noshim (shimcall re-executes itself by the raw execve system call with
LD_PRELOAD removed, so no wrapper can put the shim back).  The program must
see the same errno both times, and the report must hold exactly one event
for the shimmed call (op, errno, resolved absolute path, flags) and none for
the other.

Writes outside go to unique names under /etc and /usr/local, removed after
each test, so that they stay harmless even if the isolation broke.
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import uuid

import pytest

from conftest import IS_ROOT, NOBODY, REPO

SHIMCALL_SOURCE = os.path.join(REPO, "tests", "programs", "shimcall.c")
EARLY_SOURCE = os.path.join(REPO, "tests", "programs", "early.c")
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-U_FORTIFY_SOURCE", "-O0"]


# ---- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="session")
def shimcall():
    """tests/programs/shimcall.c built into a directory every test user can
    read; the path of the binary (its directory goes on PATH for execvp)."""
    top = tempfile.mkdtemp(prefix="encapsulate-test-shimcall-")
    os.chmod(top, 0o755)
    binary = os.path.join(top, "shimcall")
    env = dict(os.environ, TMPDIR=top)  # no stray files in /tmp
    subprocess.run(["gcc"] + CFLAGS + ["-o", binary, SHIMCALL_SOURCE], check=True, env=env)
    # shimcall-early: shimcall needing libearly.so, whose constructor writes.
    subprocess.run(["gcc"] + CFLAGS + ["-fPIC", "-shared", "-o", os.path.join(top, "libearly.so"),
                    EARLY_SOURCE], check=True, env=env)
    subprocess.run(["gcc"] + CFLAGS + ["-o", binary + "-early", SHIMCALL_SOURCE,
                    "-Wl,--no-as-needed", "-L" + top, "-learly", "-Wl,-rpath," + top],
                   check=True, env=env)
    for name in os.listdir(top):
        os.chmod(os.path.join(top, name), 0o755)
    yield binary
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def cleanup():
    """Paths to remove after the test, whatever happened."""
    paths = []
    yield paths
    for path in reversed(paths):
        if os.path.islink(path) or os.path.isfile(path) or (
                os.path.exists(path) and not os.path.isdir(path)):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def outside(user, cleanup, unique_name):
    """A directory outside the writable trees holding `file` (with content)
    and `dir` (empty), owned by the test user so that every write is refused
    by the read-only view (EROFS) rather than by permissions.  Under
    /usr/local/share when pytest is root, else a temporary directory that is
    not writable inside the sandbox."""
    if IS_ROOT:
        path = os.path.join("/usr/local/share", unique_name)
        os.mkdir(path)
    else:
        path = tempfile.mkdtemp(prefix="encapsulate-test-outside-", dir="/var/tmp")
    cleanup.append(path)
    os.chmod(path, 0o755)
    with open(os.path.join(path, "file"), "w") as f:
        f.write("content\n")
    os.mkdir(os.path.join(path, "dir"))
    if user == "nobody":
        for name in ("", "file", "dir"):
            os.chown(os.path.join(path, name), NOBODY, NOBODY)
    return path


def etc_name(cleanup, unique_name, suffix=""):
    """A fresh name directly under /etc, removed after the test."""
    path = "/etc/%s%s" % (unique_name, suffix)
    cleanup.append(path)
    return path


# ---- helpers ----------------------------------------------------------------------


def quote(argv):
    return " ".join(shlex.quote(a) for a in argv)


def parse_results(stdout):
    """The "rc=... errno=..." lines of stdout as (rc, errno) pairs."""
    results = []
    for line in stdout.splitlines():
        if line.startswith("rc="):
            rc, error = line.split()
            results.append((int(rc[3:]), error[len("errno="):]))
    return results


def shim_processes(r, function):
    """Report records of shimcall processes that ran `function` with the
    shim (argv[0] is the binary, argv[1] the function or an option)."""
    def called(argv):
        i = 1
        while i < len(argv) and argv[i].startswith("-"):
            i += 2 if argv[i] == "-C" else 1
        return i < len(argv) and argv[i] == function
    return [p for p in r.report["processes"]
            if len(p["argv"]) > 1 and p["argv"][0].endswith("shimcall")
            and called(p["argv"]) and "--noshim" not in p["argv"]]


def events_of(r, process_ids):
    ids = set(process_ids)
    violations = [v for v in r.report["violations"] if v["process"] in ids]
    writes = [w for w in r.report["writes"] if w["process"] in ids]
    return violations, writes


def noshim_events(r):
    ids = {p["id"] for p in r.report["processes"] if "--noshim" in p["argv"]}
    return events_of(r, ids)


def parent_chain(r, process):
    chain = []
    while process is not None:
        chain.append(process)
        process = r.process(process["parent"]) if process["parent"] else None
    return chain


# ---- write entry points -------------------------------------------------------------
#
# symbol -> (arguments, op, path, to, flags).  In arguments, paths and the
# report's expected values: {D} is a directory holding `file` and `dir`; {N}
# is a new name in it.  flags is the report's open flags (None: not checked,
# [] for non-open ops).

WRITE_CASES = {
    "open": (["{N}", "O_WRONLY|O_CREAT|O_TRUNC", "0644"], "open", "{N}", None,
             ["O_WRONLY", "O_CREAT", "O_TRUNC"]),
    "open64": (["{N}", "O_RDWR|O_CREAT|O_EXCL", "0600"], "open", "{N}", None,
               ["O_RDWR", "O_CREAT", "O_EXCL"]),
    "openat": (["{D}", "new", "O_WRONLY|O_CREAT", "0644"], "open", "{N}", None,
               ["O_WRONLY", "O_CREAT"]),
    "openat64": (["{D}", "new", "O_WRONLY|O_CREAT|O_APPEND", "0644"], "open", "{N}", None,
                 ["O_WRONLY", "O_CREAT", "O_APPEND"]),
    "__open_2": (["{D}/file", "O_WRONLY|O_TRUNC"], "open", "{D}/file", None,
                 ["O_WRONLY", "O_TRUNC"]),
    "__open64_2": (["{D}/file", "O_RDWR|O_APPEND"], "open", "{D}/file", None,
                   ["O_RDWR", "O_APPEND"]),
    "__openat_2": (["{D}", "file", "O_WRONLY"], "open", "{D}/file", None, ["O_WRONLY"]),
    "__openat64_2": (["{D}", "file", "O_RDWR|O_TRUNC"], "open", "{D}/file", None,
                     ["O_RDWR", "O_TRUNC"]),
    "creat": (["{N}", "0644"], "creat", "{N}", None, ["O_WRONLY", "O_CREAT", "O_TRUNC"]),
    "creat64": (["{N}", "0644"], "creat", "{N}", None, ["O_WRONLY", "O_CREAT", "O_TRUNC"]),
    "fopen": (["{N}", "w"], "open", "{N}", None, ["O_WRONLY", "O_CREAT", "O_TRUNC"]),
    "fopen64": (["{N}", "a"], "open", "{N}", None, ["O_WRONLY", "O_CREAT", "O_APPEND"]),
    "freopen": (["{N}", "w+"], "open", "{N}", None, ["O_RDWR", "O_CREAT", "O_TRUNC"]),
    "freopen64": (["{D}/file", "r+"], "open", "{D}/file", None, ["O_RDWR"]),
    "mkdir": (["{N}", "0755"], "mkdir", "{N}", None, []),
    "mkdirat": (["{D}", "new", "0755"], "mkdir", "{N}", None, []),
    "rmdir": (["{D}/dir"], "rmdir", "{D}/dir", None, []),
    "unlink": (["{D}/file"], "unlink", "{D}/file", None, []),
    "unlinkat": (["{D}", "file", "0"], "unlink", "{D}/file", None, []),
    "remove": (["{D}/file"], "unlink", "{D}/file", None, []),
    "rename": (["{D}/file", "{N}"], "rename", "{D}/file", "{N}", []),
    "renameat": (["{D}", "file", "{D}", "new"], "rename", "{D}/file", "{N}", []),
    "renameat2": (["{D}", "file", "{D}", "new", "0"], "rename", "{D}/file", "{N}", []),
    "link": (["{D}/file", "{N}"], "link", "{D}/file", "{N}", []),
    "linkat": (["{D}", "file", "{D}", "new", "0"], "link", "{D}/file", "{N}", []),
    "symlink": (["target text", "{N}"], "symlink", "{N}", "target text", []),
    "symlinkat": (["../target", "{D}", "new"], "symlink", "{N}", "../target", []),
    "mkfifo": (["{N}", "0644"], "mkfifo", "{N}", None, []),
    "mkfifoat": (["{D}", "new", "0644"], "mkfifo", "{N}", None, []),
    "mknod": (["{N}", "0100644", "0"], "mknod", "{N}", None, []),
    "mknodat": (["{D}", "new", "0100600", "0"], "mknod", "{N}", None, []),
    "chmod": (["{D}/file", "0600"], "chmod", "{D}/file", None, []),
    "fchmodat": (["{D}", "file", "0600", "0"], "chmod", "{D}/file", None, []),
    "chown": (["{D}/file", "-1", "-1"], "chown", "{D}/file", None, []),
    "lchown": (["{D}/file", "-1", "-1"], "chown", "{D}/file", None, []),
    "fchownat": (["{D}", "file", "-1", "-1", "AT_SYMLINK_NOFOLLOW"], "chown", "{D}/file", None, []),
    "truncate": (["{D}/file", "0"], "truncate", "{D}/file", None, []),
    "truncate64": (["{D}/file", "3"], "truncate", "{D}/file", None, []),
    "utime": (["{D}/file"], "utime", "{D}/file", None, []),
    "utimes": (["{D}/file"], "utime", "{D}/file", None, []),
    "lutimes": (["{D}/file"], "utime", "{D}/file", None, []),
    "utimensat": (["{D}", "file", "0"], "utime", "{D}/file", None, []),
    "lchmod": (["{D}/file", "0600"], "chmod", "{D}/file", None, []),
    "futimesat": (["{D}", "file"], "utime", "{D}/file", None, []),
    "setxattr": (["{D}/file", "user.shimcall", "v"], "setxattr", "{D}/file", None, []),
    "lsetxattr": (["{D}/file", "user.shimcall", "v"], "setxattr", "{D}/file", None, []),
    "removexattr": (["{D}/file", "user.shimcall"], "removexattr", "{D}/file", None, []),
    "lremovexattr": (["{D}/file", "user.shimcall"], "removexattr", "{D}/file", None, []),
    "__xmknod": (["{N}", "0100644", "0"], "mknod", "{N}", None, []),
    "__xmknodat": (["{D}", "new", "0100600", "0"], "mknod", "{N}", None, []),
    "bind": (["{N}"], "bind", "{N}", None, []),
    # by descriptor: shimcall opens the file O_RDONLY (ftruncate: O_RDWR
    # where it can) by the raw system call
    "fchmod": (["{D}/file", "0600"], "chmod", "{D}/file", None, []),
    "fchown": (["{D}/file", "-1", "-1"], "chown", "{D}/file", None, []),
    "futimes": (["{D}/file"], "utime", "{D}/file", None, []),
    "futimens": (["{D}/file"], "utime", "{D}/file", None, []),
    "fsetxattr": (["{D}/file", "user.shimcall", "v"], "setxattr", "{D}/file", None, []),
    "fremovexattr": (["{D}/file", "user.shimcall"], "removexattr", "{D}/file", None, []),
    "ftruncate": (["{D}/file", "0"], "truncate", "{D}/file", None, []),
    "ftruncate64": (["{D}/file", "3"], "truncate", "{D}/file", None, []),
    # temporary files: XXXXXX in a path stands for the six characters the
    # call chose.  The report shows open flags for open and creat only.
    "mkstemp": (["{D}/tmpXXXXXX"], "mkstemp", "{D}/tmpXXXXXX", None, []),
    "mkstemp64": (["{D}/tmpXXXXXX"], "mkstemp", "{D}/tmpXXXXXX", None, []),
    "mkostemp": (["{D}/tmpXXXXXX", "O_APPEND"], "mkstemp", "{D}/tmpXXXXXX", None, []),
    "mkostemp64": (["{D}/tmpXXXXXX", "O_CLOEXEC"], "mkstemp", "{D}/tmpXXXXXX", None, []),
    "mkstemps": (["{D}/tmpXXXXXX.c", "2"], "mkstemp", "{D}/tmpXXXXXX.c", None, []),
    "mkstemps64": (["{D}/tmpXXXXXX.c", "2"], "mkstemp", "{D}/tmpXXXXXX.c", None, []),
    "mkostemps": (["{D}/tmpXXXXXX.c", "2", "O_APPEND"], "mkstemp", "{D}/tmpXXXXXX.c", None, []),
    "mkostemps64": (["{D}/tmpXXXXXX.c", "2", "0"], "mkstemp", "{D}/tmpXXXXXX.c", None, []),
    "mkdtemp": (["{D}/tmpXXXXXX"], "mkstemp", "{D}/tmpXXXXXX", None, []),
    # tmpfile works in /tmp whatever the arguments: the report names /tmp
    "tmpfile": ([], "tmpfile", "/tmp", None, []),
    "tmpfile64": ([], "tmpfile", "/tmp", None, []),
    # /dev/shm is the sandbox's private tmpfs: never a violation nor a write
    "shm_open": (["/shimcall-test", "O_RDWR|O_CREAT", "0600"], "open", "/dev/shm/shimcall-test",
                 None, ["O_RDWR", "O_CREAT"]),
}

# Cases whose event the monitor ignores (pseudo paths): both runs must see
# the same result and the report must hold nothing for them.
IGNORED_CASES = {"shm_open"}

# The errno of a case outside when it is not EROFS: ftruncate on the O_RDONLY
# descriptor that is all a read-only view allows.
OUTSIDE_ERRNO = {"ftruncate": "EINVAL", "ftruncate64": "EINVAL"}

# Extra writable trees for a case inside (tmpfile writes in /tmp itself).
INSIDE_WRITABLE = {"tmpfile": ["/tmp"], "tmpfile64": ["/tmp"]}

TEMPORARY_NAME = re.compile(r"tmp[A-Za-z0-9]{6}")


def same_path(actual, expected):
    """expected, with XXXXXX matching the six characters mk*temp chose."""
    if expected is None or "XXXXXX" not in expected:
        return actual == expected
    pattern = re.escape(expected).replace("XXXXXX", "[A-Za-z0-9]{6}")
    return re.fullmatch(pattern, actual) is not None


def listing(directory):
    """The names in directory, the mk*temp names made comparable."""
    return sorted(TEMPORARY_NAME.sub("tmpXXXXXX", name) for name in os.listdir(directory))


def expand(template, directory):
    if template is None:
        return None
    return template.replace("{N}", os.path.join(directory, "new")).replace("{D}", directory)


def check_one_event(r, function, directory, outcome):
    """The report holds exactly one event of the shimmed call, as the case
    says, with the errno the program printed; the --noshim run none."""
    arguments, op, path, to, flags = WRITE_CASES[function]
    results = parse_results(r.stdout)
    assert len(results) == 2, r
    (rc, error), (rc_baseline, error_baseline) = results
    assert error == error_baseline, "errno differs with the shim: %r" % (results,)
    assert (rc < 0) == (rc_baseline < 0), results
    [process] = shim_processes(r, function)
    violations, writes = events_of(r, [process["id"]])
    assert noshim_events(r) == ([], []), "the baseline run was traced: %r" % r
    if function in IGNORED_CASES:
        assert (violations, writes) == ([], []), r
        assert rc >= 0 and error == "0", results
        return None, error
    if outcome == "violation":
        assert writes == []
        [event] = violations
        assert rc == -1 and error != "0"
        assert event["errno"] == error
    else:
        assert violations == []
        [event] = writes
        assert rc >= 0 and error == "0", results
        assert event["errno"] is None
    assert event["op"] == op
    assert same_path(event["path"], expand(path, directory)), (event, path)
    assert event.get("to") == expand(to, directory)
    assert event["flags"] == flags
    assert event["count"] == 1
    return event, error


@pytest.mark.parametrize("function", sorted(WRITE_CASES))
def test_write_outside_is_a_violation(run, user, shimcall, outside, function):
    arguments = [expand(a, outside) for a in WRITE_CASES[function][0]]
    cmd = "%s; %s" % (quote([shimcall, function] + arguments),
                      quote([shimcall, "--noshim", function] + arguments))
    r = run(cmd)
    assert r.returncode == 0, r
    event, error = check_one_event(r, function, outside, "violation")
    # The directory is the test user's own: only the read-only view refuses.
    if function not in IGNORED_CASES:
        assert error == OUTSIDE_ERRNO.get(function, "EROFS"), r
    assert sorted(os.listdir(outside)) == ["dir", "file"]
    with open(os.path.join(outside, "file")) as f:
        assert f.read() == "content\n"


@pytest.mark.parametrize("function", sorted(WRITE_CASES))
def test_write_inside_lands_in_writes(run, user, shimcall, workdir, function):
    # Two copies of the same starting tree: one for the shimmed call, one
    # for the baseline, so both see the same state.
    setup = "for d in pre base; do mkdir $d/ $d/dir && echo content > $d/file || exit 9; done"
    pre = os.path.join(workdir, "pre")
    base = os.path.join(workdir, "base")
    template = WRITE_CASES[function][0]
    cmd = "%s; %s; %s" % (setup,
                          quote([shimcall, function] + [expand(a, pre) for a in template]),
                          quote([shimcall, "--noshim", function] + [expand(a, base) for a in template]))
    r = run(cmd, writable=[workdir] + INSIDE_WRITABLE.get(function, []))
    assert r.returncode == 0, r
    check_one_event(r, function, pre, "write")
    # The call really happened, as it did without the shim.
    assert listing(pre) == listing(base)


def test_unlinkat_removedir_is_rmdir(run, user, shimcall, outside):
    r = run(quote([shimcall, "unlinkat", outside, "dir", "AT_REMOVEDIR"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    [process] = shim_processes(r, "unlinkat")
    [v] = r.violations(process=process["id"])
    assert (v["op"], v["path"], v["errno"]) == ("rmdir", os.path.join(outside, "dir"), "EROFS")


@pytest.mark.parametrize("function,arguments,op", [
    ("open", ["{E}", "O_WRONLY|O_CREAT|O_TRUNC", "0644"], "open"),
    ("creat", ["{E}", "0644"], "creat"),
    ("fopen", ["{E}", "w"], "open"),
    ("mkdir", ["{E}", "0755"], "mkdir"),
    ("mkfifo", ["{E}", "0644"], "mkfifo"),
    ("mknod", ["{E}", "0100644", "0"], "mknod"),
    ("symlink", ["/etc/passwd", "{E}"], "symlink"),
    ("link", ["/etc/passwd", "{E}"], "link"),
    ("rename", ["/etc/hostname", "{E}"], "rename"),
])
def test_create_under_etc(run, user, shimcall, cleanup, unique_name, function, arguments, op):
    target = etc_name(cleanup, unique_name)
    argv = [a.replace("{E}", target) for a in arguments]
    r = run("%s; %s" % (quote([shimcall, function] + argv), quote([shimcall, "--noshim", function] + argv)))
    assert parse_results(r.stdout) == [(-1, "EROFS")] * 2, r
    [process] = shim_processes(r, function)
    [v] = r.violations(process=process["id"])
    assert v["op"] == op and v["errno"] == "EROFS"
    assert target in (v["path"], v.get("to"))
    assert not os.path.lexists(target)


@pytest.mark.parametrize("function,arguments", [
    ("ftruncate", ["memfd", "100"]),
    ("fchmod", ["memfd", "0600"]),
    ("futimens", ["memfd"]),
    ("fchmod", ["pipe", "0600"]),
    ("fchown", ["pipe", "-1", "-1"]),
])
def test_descriptor_without_a_file_is_no_event(run, user, shimcall, function, arguments):
    """memfds, pipes and anonymous inodes name no file: nothing to report."""
    r = run(quote([shimcall, function] + arguments))
    [(rc, error)] = parse_results(r.stdout)
    assert rc == 0 and error == "0", r
    assert r.report["violations"] == [] and r.report["writes"] == []


@pytest.mark.parametrize("function", ["mkstemp", "mkdtemp"])
def test_temporary_name_is_the_one_made(run, user, shimcall, workdir, function):
    r = run(quote([shimcall, function, os.path.join(workdir, "tmpXXXXXX")]))
    [(rc, error)] = parse_results(r.stdout)
    assert rc >= 0 and error == "0", r
    [name] = [line[len("name="):] for line in r.stdout.splitlines() if line.startswith("name=")]
    assert os.path.exists(name) and not name.endswith("XXXXXX")
    [process] = shim_processes(r, function)
    [w] = [w for w in r.report["writes"] if w["process"] == process["id"]]
    assert (w["path"], w["op"]) == (name, "mkstemp")


@pytest.mark.parametrize("address", ["@{U}", "inet"])
def test_bind_without_a_path_is_no_event(run, user, shimcall, unique_name, address):
    r = run(quote([shimcall, "bind", address.replace("{U}", unique_name)]))
    [(rc, error)] = parse_results(r.stdout)
    assert rc == 0 and error == "0", r
    assert r.report["violations"] == [] and r.report["writes"] == []


def test_bind_under_etc(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    r = run(quote([shimcall, "bind", target]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    v = only_violation(r, "bind")
    assert (v["op"], v["path"], v["errno"]) == ("bind", target, "EROFS")
    assert not os.path.lexists(target)


# ---- resolution -----------------------------------------------------------------------


def only_violation(r, function):
    [process] = shim_processes(r, function)
    [v] = r.violations(process=process["id"])
    return v


def test_relative_path_after_chdir(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    r = run(quote([shimcall, "-C", "/etc", "mkdir", unique_name, "0755"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    v = only_violation(r, "mkdir")
    assert (v["op"], v["path"], v["errno"]) == ("mkdir", target, "EROFS")


def test_relative_path_with_dotdot_from_cwd(run, user, shimcall, workdir, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    relative = os.path.relpath(target, workdir)
    assert relative.startswith("../")
    r = run(quote([shimcall, "open", relative, "O_WRONLY|O_CREAT", "0644"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    v = only_violation(r, "open")
    assert (v["path"], v["flags"]) == (target, ["O_WRONLY", "O_CREAT"])


def test_dirfd_relative(run, user, shimcall, cleanup, unique_name):
    target = "/usr/local/" + unique_name
    cleanup.append(target)
    r = run(quote([shimcall, "mkdirat", "/usr/local", unique_name, "0755"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    assert only_violation(r, "mkdirat")["path"] == target


def test_dirfd_relative_after_chdir(run, user, shimcall, outside):
    # dirfd opened relative to the new cwd; the path relative to the dirfd.
    parent, name = os.path.split(outside)
    r = run(quote([shimcall, "-C", parent, "openat", name, "dir/../new", "O_WRONLY|O_CREAT", "0644"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    assert only_violation(r, "openat")["path"] == os.path.join(outside, "new")


def test_symlinked_parent_is_resolved(run, user, shimcall, workdir, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    os.symlink("/etc", os.path.join(workdir, "etc-link"))
    r = run(quote([shimcall, "creat", "etc-link/" + unique_name, "0644"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    v = only_violation(r, "creat")
    assert (v["op"], v["path"]) == ("creat", target)
    assert r.report["writes"] == []


def test_missing_parent_is_normalised(run, user, shimcall, cleanup, unique_name):
    top = "/usr/local/" + unique_name
    cleanup.append(top)
    r = run(quote([shimcall, "-C", "/usr/local", "mkdir", unique_name + "/a/../b", "0755"]))
    assert parse_results(r.stdout) == [(-1, "ENOENT")], r
    v = only_violation(r, "mkdir")
    # A violation whatever the errno.
    assert (v["path"], v["errno"]) == (top + "/b", "ENOENT")


@pytest.mark.parametrize("function,arguments", [
    ("open", ["{L}", "O_WRONLY|O_CREAT|O_TRUNC", "0644"]),
    ("fopen", ["{L}", "a"]),
    ("creat", ["{L}", "0644"]),
])
@pytest.mark.parametrize("link", ["absolute", "relative", "chain"])
def test_dangling_symlink_to_outside(run, user, shimcall, workdir, cleanup, unique_name,
                                     function, arguments, link):
    """open(O_CREAT) through a dangling symlink inside a writable tree
    creates the link's target: that is the write, outside."""
    target = etc_name(cleanup, unique_name)
    name = os.path.join(workdir, "dangling")
    if link == "absolute":
        os.symlink(target, name)
    elif link == "relative":
        os.symlink(os.path.relpath(target, workdir), name)
    else:
        os.symlink(target, os.path.join(workdir, "first"))
        os.symlink("first", name)
    argv = [a.replace("{L}", "dangling") for a in arguments]
    r = run("%s; %s" % (quote([shimcall, function] + argv), quote([shimcall, "--noshim", function] + argv)))
    assert parse_results(r.stdout) == [(-1, "EROFS")] * 2, r
    v = only_violation(r, function)
    assert (v["path"], v["errno"]) == (target, "EROFS")
    assert r.report["writes"] == []


def test_write_from_a_library_constructor(run, user, shimcall, workdir, cleanup, unique_name):
    """A library's constructor may run before the shim's: its calls must
    still reach libc (not fail with ENOSYS)."""
    target = etc_name(cleanup, unique_name)
    inside = os.path.join(workdir, "early-inside")
    cmd = "EARLY_PATH=%s %s-early noop; EARLY_PATH=%s %s-early noop" % (
        target, shimcall, inside, shimcall)
    r = run(cmd)
    results = parse_results(r.stdout)
    assert results[0] == (-1, "EROFS"), r
    assert results[2][0] >= 0 and results[2][1] == "0", r
    assert os.path.exists(inside)
    assert not os.path.exists(target)


def test_relative_inside_after_chdir(run, user, shimcall, workdir):
    os.mkdir(os.path.join(workdir, "sub"))
    if user == "nobody":
        os.chown(os.path.join(workdir, "sub"), NOBODY, NOBODY)
    r = run(quote([shimcall, "-C", "sub", "open", "made", "O_WRONLY|O_CREAT", "0644"]))
    [(rc, error)] = parse_results(r.stdout)
    assert rc >= 0 and error == "0", r
    assert r.report["violations"] == []
    [process] = shim_processes(r, "open")
    [w] = [w for w in r.report["writes"] if w["process"] == process["id"]]
    assert (w["path"], w["op"], w["errno"]) == (os.path.join(workdir, "sub", "made"), "open", None)


@pytest.mark.parametrize("function,arguments", [
    ("open", ["/etc/passwd", "O_RDONLY", "0"]),
    ("open64", ["/etc/passwd", "O_RDONLY|O_CLOEXEC", "0"]),
    ("openat", ["/etc", "passwd", "O_RDONLY", "0"]),
    ("__open_2", ["/etc/passwd", "O_RDONLY"]),
    ("__openat64_2", ["/", "etc", "O_RDONLY|O_DIRECTORY"]),
    ("open", ["/etc", "O_PATH|O_DIRECTORY", "0"]),
    ("fopen", ["/etc/passwd", "r"]),
    ("fopen64", ["/etc/passwd", "re"]),
    ("freopen", ["/etc/passwd", "r"]),
])
def test_read_only_open_is_no_event(run, user, shimcall, function, arguments):
    r = run(quote([shimcall, function] + arguments))
    [(rc, error)] = parse_results(r.stdout)
    assert rc >= 0 and error == "0", r
    [process] = shim_processes(r, function)
    assert events_of(r, [process["id"]]) == ([], [])
    assert r.report["violations"] == [] and r.report["writes"] == []


def test_character_device_is_no_violation(run, user, shimcall):
    r = run(quote([shimcall, "open", "/dev/null", "O_WRONLY|O_TRUNC", "0"]))
    [(rc, error)] = parse_results(r.stdout)
    assert rc >= 0 and error == "0", r
    assert r.report["violations"] == []


# ---- errno is what the program would see without the shim ---------------------------


@pytest.mark.parametrize("function,arguments", [
    ("open", ["/{U}/missing/x", "O_WRONLY|O_CREAT", "0644"]),         # ENOENT
    ("open", ["/etc/passwd/x", "O_WRONLY|O_CREAT", "0644"]),          # ENOTDIR
    ("open", ["/etc", "O_WRONLY", "0"]),                              # EISDIR
    ("open", ["/etc/passwd", "O_WRONLY|O_CREAT|O_EXCL", "0644"]),     # EEXIST
    ("open", ["/etc/{L}", "O_WRONLY|O_CREAT", "0644"]),               # ENAMETOOLONG
    ("openat", ["/etc", "{U}", "O_WRONLY|O_CREAT|O_DIRECTORY", "0644"]),  # EINVAL
    ("mkdir", ["/etc", "0755"]),                                      # EEXIST
    ("rmdir", ["/etc/{U}"]),                                          # ENOENT
    ("rmdir", ["/usr/local/."]),                                      # EINVAL
    ("unlink", ["/etc"]),                                             # EISDIR
    ("rename", ["/etc/{U}", "/etc/{U}.2"]),                           # ENOENT
    ("link", ["/etc", "/usr/local/{U}"]),                             # EPERM
    ("truncate", ["/etc", "0"]),                                      # EISDIR
    ("chmod", ["/{U}", "0644"]),                                      # ENOENT
    ("utimensat", ["/etc", "{U}", "0x7fff"]),                         # EINVAL
    ("fchownat", ["AT_FDCWD", "", "0", "0", "0"]),                    # ENOENT
])
def test_errno_is_preserved(run, user, shimcall, cleanup, unique_name, function, arguments):
    cleanup.extend(["/etc/" + unique_name, "/etc/%s.2" % unique_name, "/usr/local/" + unique_name])
    long_name = "x" * 300
    argv = [a.replace("{U}", unique_name).replace("{L}", long_name) for a in arguments]
    r = run("%s; %s" % (quote([shimcall, function] + argv), quote([shimcall, "--noshim", function] + argv)))
    results = parse_results(r.stdout)
    assert len(results) == 2, r
    assert results[0] == results[1], r
    assert results[0][0] == -1 and results[0][1] != "0", r


# ---- exec family ----------------------------------------------------------------------
#
# symbol -> (options, arguments before the child's argv).  "{SC}" is the
# shimcall binary, "shimcall" its name found on PATH.  The functions that
# take an envp get {NULL}; those that hand on environ run with --strip-env
# (LD_PRELOAD and ENCAPSULATE_* unset first).

EXEC_CASES = {
    "execve": ([], ["{SC}"]),
    "execv": (["--strip-env"], ["{SC}"]),
    "execvp": (["--strip-env"], ["shimcall"]),
    "execvpe": ([], ["shimcall"]),
    "execl": (["--strip-env"], ["{SC}"]),
    "execle": ([], ["{SC}"]),
    "execlp": (["--strip-env"], ["shimcall"]),
    "fexecve": ([], ["{SC}"]),
    "execveat": ([], ["{DIR}", "shimcall", "0"]),
    "posix_spawn": ([], ["{SC}"]),
    "posix_spawnp": ([], ["shimcall"]),
}

# How each one fails: the target and the errno.
EXEC_FAILURES = {
    "execve": (["/{U}/missing"], "ENOENT"),
    "execv": (["/etc/passwd"], "EACCES"),
    "execvp": (["{U}-missing"], "ENOENT"),
    "execvpe": (["{U}-missing"], "ENOENT"),
    "execl": (["/{U}/missing"], "ENOENT"),
    "execle": (["/etc"], "EACCES"),
    "execlp": (["{U}-missing"], "ENOENT"),
    "fexecve": (["/etc/passwd"], "EACCES"),
    "execveat": (["/etc", "{U}", "0"], "ENOENT"),
    "posix_spawn": (["/{U}/missing"], "ENOENT"),
    "posix_spawnp": (["{U}-missing"], "ENOENT"),
}


def exec_env(shimcall):
    return {"PATH": os.path.dirname(shimcall) + ":/usr/bin:/bin"}


@pytest.mark.parametrize("function", sorted(EXEC_CASES))
def test_exec_without_preload_keeps_the_shim(run, user, shimcall, cleanup, unique_name, function):
    target = etc_name(cleanup, unique_name)
    options, head = EXEC_CASES[function]
    head = [h.replace("{SC}", shimcall).replace("{DIR}", os.path.dirname(shimcall)) for h in head]
    child_argv = ["child of " + function, "open", target, "O_WRONLY|O_CREAT", "0644"]
    r = run(quote([shimcall] + options + [function] + head + child_argv), env=exec_env(shimcall))
    assert r.returncode == 0, r
    # The child ran and saw EROFS; a posix_spawn caller reports success.
    results = parse_results(r.stdout)
    if function.startswith("posix_spawn"):
        assert results == [(-1, "EROFS"), (0, "0")], r
        assert "child status=0" in r.stdout
    else:
        assert results == [(-1, "EROFS")], r
    [caller] = shim_processes(r, function)
    [child] = [p for p in r.report["processes"] if p["argv"] == child_argv]
    assert child["exe"] == shimcall
    if function.startswith("posix_spawn"):
        assert child["parent"] == caller["id"] and child["ppid"] == caller["pid"]
    else:
        assert child["pid"] == caller["pid"]
    [v] = r.report["violations"]
    assert (v["path"], v["op"], v["errno"], v["process"]) == (target, "open", "EROFS", child["id"])
    assert r.report["failed_execs"] == []


@pytest.mark.parametrize("function", sorted(EXEC_FAILURES))
def test_failed_exec_is_reported(run, user, shimcall, unique_name, function):
    options = EXEC_CASES[function][0]
    head, expected = EXEC_FAILURES[function]
    head = [h.replace("{U}", unique_name) for h in head]
    argv = ["arg zero", "one", ""]
    r = run("%s; %s" % (quote([shimcall] + options + [function] + head + argv),
                        quote([shimcall, "--noshim"] + options + [function] + head + argv)),
            env=exec_env(shimcall))
    assert r.returncode == 0, r
    results = parse_results(r.stdout)
    rc = expected_rc = -1
    if function.startswith("posix_spawn"):
        expected_rc = {"ENOENT": 2, "EACCES": 13}[expected]
    assert results == [(expected_rc, expected)] * 2, r
    [caller] = shim_processes(r, function)
    [failure] = r.report["failed_execs"]
    assert failure["errno"] == expected
    assert failure["argv"] == argv
    assert failure["process"] == caller["id"]
    if function == "fexecve":
        assert failure["path"] == ""
    else:
        assert failure["path"] == (head[1] if function == "execveat" else head[0])
    del rc


def test_exec_with_a_large_environment(run, user, shimcall, cleanup, unique_name):
    """More environment entries than the wrapper copies on its stack."""
    target = etc_name(cleanup, unique_name)
    env = exec_env(shimcall)
    env.update({"ENCAPSULATE_TEST_VAR_%d" % i: "v" * 100 for i in range(300)})
    child_argv = ["child", "open", target, "O_WRONLY|O_CREAT", "0644"]
    r = run(quote([shimcall, "--strip-env", "execv", shimcall] + child_argv), env=env)
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    [child] = [p for p in r.report["processes"] if p["argv"] == child_argv]
    [v] = r.report["violations"]
    assert (v["path"], v["process"]) == (target, child["id"])


def test_event_socket_closed_by_the_program(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    r = run(quote([shimcall, "--closefrom", "mkdir", target, "0755"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    assert only_violation(r, "mkdir")["path"] == target


def test_execl_argv_recorded_exactly(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    child_argv = [" spaced  zero ", "open", target, "O_WRONLY|O_CREAT", "0644",
                  "", "tab\there", "new\nline", "quote\"back\\slash", "ünïcødé", "-", "last"]
    r = run(quote([shimcall, "--strip-env", "execl", shimcall] + child_argv))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    [child] = [p for p in r.report["processes"] if p["argv"] == child_argv]
    [v] = r.report["violations"]
    assert v["process"] == child["id"] and v["path"] == target


def test_execl_empty_argument_list(run, user, shimcall, cleanup, unique_name):
    """execl(path, NULL): the child gets an empty argv (Linux >= 5.18 then
    hands it a single "" as argv[0])."""
    r = run(quote([shimcall, "execl", "/bin/true"]))
    assert r.returncode == 0, r
    assert r.report["failed_execs"] == []
    [caller] = shim_processes(r, "execl")
    [child] = [p for p in r.report["processes"] if p["exe"] == "/usr/bin/true"]
    assert child["argv"] in ([], [""]) and child["pid"] == caller["pid"], r.report


# ---- whole programs ----------------------------------------------------------------------


def test_env_i_sh_is_traced(run, user, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    script = "echo x > %s" % target
    r = run(["env", "-i", "sh", "-c", script])
    assert "Read-only file system" in r.stderr, r
    [v] = r.violations(path=target)
    assert (v["op"], v["errno"], v["flags"]) == ("open", "EROFS", ["O_WRONLY", "O_CREAT", "O_TRUNC"])
    process = r.process(v["process"])
    assert process["argv"] == ["sh", "-c", script]
    assert r.process(process["parent"])["argv"][:2] == ["env", "-i"] if process["parent"] else True


def test_make_j8_500_targets_loses_nothing(run, user, workdir, cleanup, unique_name):
    count = 500
    names = ["t%03d" % i for i in range(count)]
    for name in names:
        cleanup.append("/etc/%s-%s" % (unique_name, name))
    lines = [".PHONY: all " + " ".join(names), "all: " + " ".join(names)]
    for i, name in enumerate(names):
        path = "/etc/%s-%s" % (unique_name, name)
        lines.append("%s:" % name)
        if i % 2:
            lines.append("\t-@touch %s" % path)               # make runs touch itself
        else:
            lines.append("\t@echo x > %s 2>/dev/null || true" % path)  # through sh -c
    with open(os.path.join(workdir, "Makefile"), "w") as f:
        f.write("\n".join(lines) + "\n")
    r = run(["make", "-s", "-j8"], timeout=300)
    # One failed open per target (touch then also tries utimensat, which
    # fails with ENOENT: a second violation on the same path).
    violations = [v for v in r.report["violations"] if v["op"] == "open"]
    assert len(violations) == count, (len(violations), r)
    by_path = {v["path"]: v for v in violations}
    assert len(by_path) == count
    assert {v["path"] for v in r.report["violations"]} == set(by_path)
    for i, name in enumerate(names):
        path = "/etc/%s-%s" % (unique_name, name)
        v = by_path[path]
        assert v["errno"] == "EROFS" and v["count"] == 1
        process = r.process(v["process"])
        if i % 2:
            assert process["argv"] == ["touch", path], process
        else:
            assert process["argv"][:2] == ["/bin/sh", "-c"] and path in process["argv"][2], process
        chain = parent_chain(r, process)
        assert any(p["argv"][:1] == ["make"] for p in chain), chain
    assert not any(os.path.exists("/etc/%s-%s" % (unique_name, n)) for n in names)


def test_mkdir_p_from_make(run, user, workdir, cleanup, unique_name):
    top = "/usr/local/share/" + unique_name
    cleanup.append(top)
    with open(os.path.join(workdir, "Makefile"), "w") as f:
        f.write("install:\n\tmkdir -p %s/x\n" % top)
    r = run(["make"])
    assert r.returncode != 0, r
    [v] = r.violations(path=top, op="mkdir")
    assert v["errno"] == "EROFS"
    process = r.process(v["process"])
    assert process["argv"] == ["mkdir", "-p", top + "/x"]
    assert any(p["argv"][:1] == ["make"] for p in parent_chain(r, process))
    assert not os.path.exists(top)


# ---- posix_spawn file actions ------------------------------------------------------------
#
# glibc's spawn child opens the posix_spawn_file_actions_addopen files through
# its internal open: the shim remembers the write-opens of each actions object
# and the posix_spawn wrappers report them for the caller.  symbol ->
# (shimcall arguments after the symbol's own name, the path expected in the
# one violation).  {D} and {N} as in WRITE_CASES.  The init and destroy rows
# add a write-open of {D}/old first, then reuse the object (same address) for
# {N}: only {N} may be reported.

FILE_ACTION_CASES = {
    "posix_spawn_file_actions_addopen": (["{N}", "O_WRONLY|O_CREAT"], "{N}"),
    "posix_spawn_file_actions_init": (["{D}/old", "O_WRONLY|O_CREAT", "{N}", "O_WRONLY|O_CREAT"],
                                      "{N}"),
    "posix_spawn_file_actions_destroy": (["{D}/old", "O_WRONLY|O_CREAT", "{N}",
                                          "O_WRONLY|O_CREAT"], "{N}"),
}

EROFS = 30


@pytest.mark.parametrize("function", sorted(FILE_ACTION_CASES))
def test_file_action_outside_is_a_violation(run, user, shimcall, outside, function):
    arguments, path = FILE_ACTION_CASES[function]
    argv = [function] + [expand(a, outside) for a in arguments]
    r = run("%s; %s" % (quote([shimcall] + argv), quote([shimcall, "--noshim"] + argv)))
    assert r.returncode == 0, r
    # The spawn fails in the child's open, exactly as without the shim.
    assert parse_results(r.stdout) == [(EROFS, "EROFS")] * 2, r
    [caller] = shim_processes(r, function)
    violations, writes = events_of(r, [caller["id"]])
    assert writes == [] and noshim_events(r) == ([], []), r
    [v] = violations
    assert (v["op"], v["path"], v["errno"], v["flags"], v["count"]) == (
        "open", expand(path, outside), "EROFS", ["O_WRONLY", "O_CREAT"], 1)
    assert len(r.report["violations"]) == 1, r
    assert sorted(os.listdir(outside)) == ["dir", "file"]


@pytest.mark.parametrize("function", ["spawn_addopen", "spawnp_addopen"])
def test_addopen_inside_lands_in_writes(run, user, shimcall, workdir, function):
    target = os.path.join(workdir, "made")
    r = run(quote([shimcall, function, target, "O_WRONLY|O_CREAT|O_TRUNC"]),
            env=exec_env(shimcall))
    assert r.returncode == 0, r
    assert parse_results(r.stdout) == [(0, "0")] and "child status=0" in r.stdout, r
    assert os.path.isfile(target)
    [caller] = shim_processes(r, function)
    assert r.report["violations"] == [], r
    [w] = r.report["writes"]
    assert (w["op"], w["path"], w["errno"], w["flags"], w["process"]) == (
        "open", target, None, ["O_WRONLY", "O_CREAT", "O_TRUNC"], caller["id"])
    assert r.report["failed_execs"] == []


def test_addopen_outside_through_posix_spawnp(run, user, shimcall, outside):
    target = os.path.join(outside, "new")
    argv = ["spawnp_addopen", target, "O_RDWR|O_CREAT|O_EXCL"]
    r = run("%s; %s" % (quote([shimcall] + argv), quote([shimcall, "--noshim"] + argv)),
            env=exec_env(shimcall))
    assert parse_results(r.stdout) == [(EROFS, "EROFS")] * 2, r
    [v] = r.report["violations"]
    assert (v["op"], v["path"], v["errno"], v["flags"]) == (
        "open", target, "EROFS", ["O_RDWR", "O_CREAT", "O_EXCL"])


def test_addopen_relative_path_is_resolved_against_the_cwd(run, user, shimcall, workdir):
    sub = os.path.join(workdir, "sub")
    os.mkdir(sub)
    os.chmod(sub, 0o777)
    r = run(quote([shimcall, "-C", sub, "spawn_addopen", "../made", "O_WRONLY|O_CREAT"]))
    assert parse_results(r.stdout) == [(0, "0")], r
    [w] = r.report["writes"]
    assert (w["op"], w["path"]) == ("open", os.path.join(workdir, "made"))


@pytest.mark.parametrize("function", ["spawn_addopen", "spawnp_addopen"])
def test_read_only_addopen_is_no_event(run, user, shimcall, function):
    r = run(quote([shimcall, function, "/etc/passwd", "O_RDONLY"]), env=exec_env(shimcall))
    assert parse_results(r.stdout) == [(0, "0")] and "child status=0" in r.stdout, r
    assert r.report["violations"] == [] and r.report["writes"] == [], r


@pytest.mark.parametrize("function", ["spawn_reuse", "spawn_reinit"])
def test_reused_actions_report_only_their_own_opens(run, user, shimcall, workdir, outside,
                                                    function):
    """An object destroyed (or initialised again) and reused at the same
    address: the write-open of its first life is never reported."""
    old = os.path.join(outside, "old")
    new = os.path.join(workdir, "new")
    r = run(quote([shimcall, function, old, "O_WRONLY|O_CREAT", new, "O_WRONLY|O_CREAT"]))
    assert parse_results(r.stdout) == [(0, "0")], r
    assert r.report["violations"] == [], r
    [w] = r.report["writes"]
    assert (w["op"], w["path"], w["errno"]) == ("open", new, None)
    # and a read-only second life reports nothing at all
    r = run(quote([shimcall, function, old, "O_WRONLY|O_CREAT", "/etc/passwd", "O_RDONLY"]))
    assert parse_results(r.stdout) == [(0, "0")], r
    assert r.report["violations"] == [] and r.report["writes"] == [], r


# ---- system, popen, pclose ------------------------------------------------------------
#
# glibc runs them through its internal posix_spawn with environ: after
# unsetenv("LD_PRELOAD") (--strip-env) the shell must still carry the shim.
# symbol -> the shimcall arguments before the command.

SHELL_CASES = {
    "system": [],
    "popen": ["r"],
    "pclose": ["w"],
}


@pytest.mark.parametrize("function", sorted(SHELL_CASES))
def test_shell_without_preload_keeps_the_shim(run, user, shimcall, cleanup, unique_name, function):
    target = etc_name(cleanup, unique_name)
    command = "echo x > %s; exit 3" % target
    argv = SHELL_CASES[function] + [command]
    r = run("%s; %s" % (quote([shimcall, "--strip-env", function] + argv),
                        quote([shimcall, "--noshim", "--strip-env", function] + argv)))
    assert r.returncode == 0, r
    results = parse_results(r.stdout)
    # The status is the shell's, the same without the shim.
    assert results == [(3 << 8, "0")] * 2, r
    [caller] = shim_processes(r, function)
    [v] = r.violations(path=target)
    assert (v["op"], v["errno"], v["count"]) == ("open", "EROFS", 1)
    shell = r.process(v["process"])
    assert shell["argv"] == ["sh", "-c", command]
    assert shell["parent"] == caller["id"]
    assert len(r.report["violations"]) == 1 and r.report["failed_execs"] == []


@pytest.mark.parametrize("strip", [[], ["--strip-env"]])
@pytest.mark.parametrize("function,arguments", [
    ("system", []),                          # NULL: is there a shell? 1
    ("system", ["exit 7"]),
    ("system", ["kill -TERM $$"]),           # killed by a signal
    ("popen", ["r", "echo one; echo two"]),
    ("popen", ["re", "echo cloexec"]),
    ("popen", ["w", "cat >/dev/null", "text"]),
    ("popen", ["rw", "true"]),               # EINVAL
    ("popen", ["x", "true"]),                # EINVAL
    ("popen", ["", "true"]),                 # EINVAL
])
def test_shell_results_are_glibc_s(run, user, shimcall, function, arguments, strip):
    """Whether the shim runs the shell itself (--strip-env) or hands the call
    to glibc, the program sees what it sees without the shim."""
    r = run("%s; %s" % (quote([shimcall] + strip + [function] + arguments),
                        quote([shimcall, "--noshim"] + strip + [function] + arguments)))
    assert r.returncode == 0, r
    lines = [line for line in r.stdout.splitlines()]
    half = len(lines) // 2
    assert len(lines) % 2 == 0 and lines[:half] == lines[half:], r
    assert parse_results(r.stdout)[0][1] in ("0", "EINVAL"), r
    assert r.report["violations"] == [] and r.report["failed_execs"] == []


def test_popen_w_feeds_the_shell(run, user, shimcall, workdir):
    out = os.path.join(workdir, "fed")
    r = run(quote([shimcall, "--strip-env", "popen", "w", "cat > %s" % out, "fed text\n"]))
    assert parse_results(r.stdout) == [(0, "0")], r
    with open(out) as f:
        assert f.read() == "fed text\n"
    [w] = [w for w in r.report["writes"] if w["path"] == out]
    assert r.process(w["process"])["argv"] == ["sh", "-c", "cat > %s" % out]


def test_sixteen_threads_calling_system(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    r = run(quote([shimcall, "--strip-env", "system-threads", "16", "echo x > %s" % target]))
    assert r.returncode == 0, r
    assert r.stdout.count("status=512") == 16, r
    violations = r.violations(path=target)
    assert len(violations) == 16 and all(v["count"] == 1 for v in violations), r
    shells = {v["process"] for v in violations}
    assert len(shells) == 16
    [caller] = shim_processes(r, "system-threads")
    assert all(r.process(i)["parent"] == caller["id"] for i in shells)


# ---- syscall() ---------------------------------------------------------------------------
#
# symbol -> nothing: the cases are the system calls below.

SYSCALL_CASES = {"syscall": None}

# name -> (arguments, op, path, to).  {D} and {N} as in WRITE_CASES.
SYSCALL_WRITES = {
    "open": (["{N}", "O_WRONLY|O_CREAT", "0644"], "open", "{N}", None),
    "openat": (["{D}", "new", "O_RDWR|O_CREAT|O_TRUNC", "0644"], "open", "{N}", None),
    "openat2": (["{D}", "new", "O_WRONLY|O_CREAT", "0644"], "open", "{N}", None),
    "creat": (["{N}", "0644"], "creat", "{N}", None),
    "mkdir": (["{N}", "0755"], "mkdir", "{N}", None),
    "mkdirat": (["{D}", "new", "0755"], "mkdir", "{N}", None),
    "rmdir": (["{D}/dir"], "rmdir", "{D}/dir", None),
    "unlink": (["{D}/file"], "unlink", "{D}/file", None),
    "rename": (["{D}/file", "{N}"], "rename", "{D}/file", "{N}"),
    "link": (["{D}/file", "{N}"], "link", "{D}/file", "{N}"),
    "symlink": (["target text", "{N}"], "symlink", "{N}", "target text"),
    "truncate": (["{D}/file", "0"], "truncate", "{D}/file", None),
    "chmod": (["{D}/file", "0600"], "chmod", "{D}/file", None),
    "fchownat": (["{D}", "file", "-1", "-1", "AT_SYMLINK_NOFOLLOW"], "chown", "{D}/file", None),
    "utimensat": (["{D}", "file", "0"], "utime", "{D}/file", None),
    "setxattr": (["{D}/file", "user.shimcall", "v"], "setxattr", "{D}/file", None),
}


@pytest.mark.parametrize("name", sorted(SYSCALL_WRITES))
def test_syscall_write_outside_is_a_violation(run, user, shimcall, outside, name):
    arguments, op, path, to = SYSCALL_WRITES[name]
    argv = ["syscall", name] + [expand(a, outside) for a in arguments]
    r = run("%s; %s" % (quote([shimcall] + argv), quote([shimcall, "--noshim"] + argv)))
    assert r.returncode == 0, r
    results = parse_results(r.stdout)
    # errno is the kernel's, as without the shim
    assert results == [(-1, "EROFS")] * 2, r
    [process] = shim_processes(r, "syscall")
    violations, writes = events_of(r, [process["id"]])
    assert writes == [] and noshim_events(r) == ([], []), r
    [v] = violations
    assert (v["op"], v["path"], v.get("to"), v["errno"]) == (
        op, expand(path, outside), expand(to, outside), "EROFS")
    assert sorted(os.listdir(outside)) == ["dir", "file"]


def test_syscall_openat2_flags(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    r = run(quote([shimcall, "syscall", "openat2", "/etc", unique_name, "O_WRONLY|O_CREAT|O_EXCL",
                   "0600"]))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    [v] = r.violations(path=target)
    assert (v["op"], v["flags"]) == ("open", ["O_WRONLY", "O_CREAT", "O_EXCL"])


@pytest.mark.parametrize("name,arguments", [
    ("mkdir", ["/etc", "0755"]),                      # EEXIST
    ("mkdir", ["/{U}/missing/x", "0755"]),            # ENOENT
    ("openat2", ["/etc", "{U}", "O_WRONLY|O_CREAT|O_DIRECTORY", "0644"]),  # EINVAL
    ("open", ["/etc/passwd", "O_RDONLY", "0"]),       # success, read-only: no event
    ("unlink", ["/etc"]),                             # EISDIR
])
def test_syscall_errno_is_preserved(run, user, shimcall, cleanup, unique_name, name, arguments):
    cleanup.append("/etc/" + unique_name)
    argv = ["syscall", name] + [a.replace("{U}", unique_name) for a in arguments]
    r = run("%s; %s" % (quote([shimcall] + argv), quote([shimcall, "--noshim"] + argv)))
    results = parse_results(r.stdout)
    assert len(results) == 2 and results[0][1] == results[1][1], r
    assert (results[0][0] < 0) == (results[1][0] < 0), r


def test_syscall_read_only_open_is_no_event(run, user, shimcall):
    r = run(quote([shimcall, "syscall", "openat2", "/etc", "passwd", "O_RDONLY", "0"]))
    [(rc, error)] = parse_results(r.stdout)
    assert rc >= 0 and error == "0", r
    assert r.report["violations"] == [] and r.report["writes"] == []


def test_syscall_execve_keeps_the_shim(run, user, shimcall, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    child_argv = ["child of syscall", "mkdir", target, "0755"]
    r = run(quote([shimcall, "syscall", "execve", shimcall] + child_argv))
    assert parse_results(r.stdout) == [(-1, "EROFS")], r
    [child] = [p for p in r.report["processes"] if p["argv"] == child_argv]
    [v] = r.report["violations"]
    assert (v["path"], v["op"], v["process"]) == (target, "mkdir", child["id"])


def test_syscall_failed_execve_is_reported(run, user, shimcall, unique_name):
    missing = "/%s/missing" % unique_name
    r = run("%s; %s" % (quote([shimcall, "syscall", "execve", missing, "zero"]),
                        quote([shimcall, "--noshim", "syscall", "execve", missing, "zero"])))
    assert parse_results(r.stdout) == [(-1, "ENOENT")] * 2, r
    [failure] = r.report["failed_execs"]
    assert (failure["path"], failure["argv"], failure["errno"]) == (missing, ["zero"], "ENOENT")


# ---- vfork and small stacks ---------------------------------------------------------------


def test_vfork_child_open_and_exec(run, user, shimcall, cleanup, unique_name):
    """The vfork child writes, then execs with envp = {NULL}: both seen."""
    opened = etc_name(cleanup, unique_name, ".vfork")
    made = etc_name(cleanup, unique_name, ".exec")
    child_argv = ["exec'd by the vfork child", "mkdir", made, "0755"]
    r = run(quote([shimcall, "vfork-exec", opened, shimcall] + child_argv))
    assert r.returncode == 0, r
    assert "child status=0" in r.stdout, r
    [caller] = [p for p in shim_processes(r, "vfork-exec") if not p["forked"]]
    [v_open] = r.violations(path=opened)
    assert (v_open["op"], v_open["errno"]) == ("open", "EROFS")
    vfork_child = r.process(v_open["process"])
    assert vfork_child["parent"] == caller["id"] and vfork_child["pid"] != caller["pid"]
    [exec_child] = [p for p in r.report["processes"] if p["argv"] == child_argv]
    assert exec_child["pid"] == vfork_child["pid"]
    [v_made] = r.violations(path=made)
    assert (v_made["op"], v_made["process"]) == ("mkdir", exec_child["id"])


def test_clone_on_an_8k_stack_then_exec(run, user, shimcall, cleanup, unique_name):
    made = etc_name(cleanup, unique_name)
    child_argv = ["exec'd from an 8 KiB stack", "mkdir", made, "0755"]
    r = run(quote([shimcall, "clone-exec", shimcall] + child_argv))
    assert r.returncode == 0, r
    assert "child status=0" in r.stdout, r
    [exec_child] = [p for p in r.report["processes"] if p["argv"] == child_argv]
    [v] = r.violations(path=made)
    assert (v["op"], v["errno"], v["process"]) == ("mkdir", "EROFS", exec_child["id"])


# ---- untraced programs ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def static_program():
    """A statically linked program that tries to create argv[1]."""
    top = tempfile.mkdtemp(prefix="encapsulate-test-static-")
    os.chmod(top, 0o755)
    source = os.path.join(top, "static.c")
    with open(source, "w") as f:
        f.write('#include <fcntl.h>\nint main(int c, char **v) {'
                ' return c > 1 && open(v[1], O_WRONLY | O_CREAT, 0644) >= 0 ? 0 : 1; }\n')
    binary = os.path.join(top, "static-program")
    built = subprocess.run(["gcc", "-static", "-o", binary, source], capture_output=True,
                           env=dict(os.environ, TMPDIR=top))
    if built.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        pytest.skip("gcc -static does not work here: %s" % built.stderr.decode()[-300:])
    os.chmod(binary, 0o755)
    yield binary
    shutil.rmtree(top, ignore_errors=True)


def test_static_program_is_listed_untraced(run, user, static_program, cleanup, unique_name):
    target = etc_name(cleanup, unique_name)
    script = "%s %s; echo done" % (static_program, target)
    r = run(script)
    assert r.returncode == 0, r
    # Its write was refused, but nobody could report it.
    assert not os.path.exists(target)
    assert r.report["violations"] == []
    [untraced] = r.report["untraced"]
    assert (untraced["path"], untraced["argv"], untraced["reason"]) == (
        static_program, [static_program, target], "static")
    starter = r.process(untraced["process"])
    assert starter["argv"][:2] == ["sh", "-c"]
    assert "ran untraced" in r.stderr and static_program in r.stderr


@pytest.mark.parametrize("how", ["exec", "posix_spawn", "execvp"])
def test_static_program_untraced_through_each_exec(run, user, shimcall, static_program, how):
    name = os.path.basename(static_program)
    function = {"exec": "execve", "posix_spawn": "posix_spawn", "execvp": "execvp"}[how]
    target = static_program if how != "execvp" else name
    options = ["--strip-env"] if how == "execvp" else []
    cmd = [shimcall] + options + [function, target, "x", "made"]
    r = run(quote(cmd), env={"PATH": os.path.dirname(static_program) + ":/usr/bin:/bin"})
    assert r.returncode == 0, r
    [untraced] = r.report["untraced"]
    assert (untraced["path"], untraced["reason"], untraced["argv"]) == (
        static_program, "static", ["x", "made"])
    [caller] = shim_processes(r, function)
    assert untraced["process"] == caller["id"]
    if how == "posix_spawn":
        assert untraced["pid"] != caller["pid"]
    else:
        assert untraced["pid"] == caller["pid"]


def test_failed_exec_is_not_untraced(run, user, shimcall, static_program, workdir):
    """An exec announced as untraced that then fails never ran: not listed."""
    copy = os.path.join(workdir, "not-executable")
    shutil.copy(static_program, copy)
    os.chmod(copy, 0o644)
    r = run(quote([shimcall, "execve", copy, "x"]))
    assert parse_results(r.stdout) == [(-1, "EACCES")], r
    assert r.report["untraced"] == []
    [failure] = r.report["failed_execs"]
    assert failure["path"] == copy


def test_dynamic_programs_are_not_untraced(run, user, shimcall):
    r = run("true; /lib64/ld-linux-x86-64.so.2 --verify /bin/true; %s noop; env true"
            % quote([shimcall]))
    assert r.returncode == 0, r
    assert r.report["untraced"] == [], r.report["untraced"]


def test_32_bit_program_is_listed_untraced(run, user, workdir):
    source = os.path.join(workdir, "m32.c")
    with open(source, "w") as f:
        f.write("int main(void) { return 0; }\n")
    binary = os.path.join(workdir, "m32")
    built = subprocess.run(["gcc", "-m32", "-o", binary, source], capture_output=True)
    if built.returncode != 0:
        pytest.skip("gcc -m32 cannot build here (no 32-bit libc: gcc-multilib)")
    os.chmod(binary, 0o755)
    r = run(quote([binary]))
    [untraced] = r.report["untraced"]
    assert (untraced["path"], untraced["reason"]) == (binary, "32-bit")
