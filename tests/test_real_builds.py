"""Real builds under encapsulate.

GNU libltdl (as laid out by `libtoolize --ltdl`): configure and build with
only the build tree and /tmp writable must succeed and be hermetic; a
`make install` to the default prefix (/usr/local) must fail, and the report
must say what it would have touched and which install/libtool/mkdir
processes tried.  Runs as root and as nobody.

The Linux kernel (slow): `make tinyconfig && make -j2` in a tree extracted
from /usr/src/linux-source-6.1.tar.xz builds a bzImage with only that tree
and /tmp writable.  Root only.

The build trees live under /var/tmp, not /tmp, so that "only the tree is
writable" is not hidden by /tmp being writable too.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

NOBODY = 65534
IS_ROOT = os.geteuid() == 0
SCRATCH = "/var/tmp"

# What a `make install` of libltdl to /usr/local would create on the host.
HOST_LTDL = ("/usr/local/lib/libltdl*", "/usr/local/include/ltdl.h",
             "/usr/local/include/libltdl")


def host_ltdl_files():
    return sorted(path for pattern in HOST_LTDL for path in glob.glob(pattern))


def chown_tree(top, uid, gid):
    os.lchown(top, uid, gid)
    for parent, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


def owned_scratch_dir(user, prefix):
    path = tempfile.mkdtemp(prefix=prefix, dir=SCRATCH)
    os.chmod(path, 0o755)
    if user == "nobody":
        os.chown(path, NOBODY, NOBODY)
    return path


def produced(report):
    """The paths the report says were written inside: every path, and the new
    name of a rename or link (a symlink's "to" is its target as written)."""
    paths = set()
    for w in report["writes"]:
        paths.add(w["path"])
        if w["op"] in ("rename", "link") and w.get("to"):
            paths.add(w["to"])
    return paths


def build_products(top, suffixes, names=()):
    """The files under top whose names end with one of suffixes or are one
    of names."""
    found = set()
    for parent, dirs, files in os.walk(top):
        for name in files:
            if name.endswith(suffixes) or name in names:
                found.add(os.path.join(parent, name))
    return found


def ancestors(run, process_id):
    """The process records from `process_id` up to the command, nearest first."""
    chain = []
    while process_id is not None:
        process = run.process(process_id)
        chain.append(process)
        process_id = process["parent"]
    return chain


# ---- libltdl -----------------------------------------------------------------

@pytest.fixture(autouse=True)
def nothing_installed_on_host(request):
    """No test in this module may leave libltdl in /usr/local."""
    if "ltdl" not in request.node.name:
        yield
        return
    before = host_ltdl_files()
    if before:
        pytest.fail("libltdl is already installed on the host, the test cannot tell: %s" % before)
    yield
    assert host_ltdl_files() == [], "make install reached the host"


class LtdlTree:
    """A libltdl source tree owned by the test user; `build` is the Run of
    its encapsulated configure && make, done once per user and module."""
    def __init__(self, path):
        self.path = path
        self.build = None


@pytest.fixture(scope="module")
def ltdl_trees():
    if shutil.which("libtoolize") is None:
        pytest.skip("libtoolize not installed (apt-get install libtool libltdl-dev)")
    trees = {}
    yield trees
    for tree in trees.values():
        shutil.rmtree(os.path.dirname(tree.path), ignore_errors=True)


@pytest.fixture
def ltdl(user, run, ltdl_trees):
    """The libltdl tree of this user, configured and built under encapsulate
    with only the tree and /tmp writable."""
    tree = ltdl_trees.get(user)
    if tree is None:
        top = owned_scratch_dir(user, "encapsulate-ltdl-")
        subprocess.run(["libtoolize", "--copy", "--ltdl"], cwd=top, check=True,
                       capture_output=True)
        if user == "nobody":
            chown_tree(top, NOBODY, NOBODY)
        tree = ltdl_trees[user] = LtdlTree(os.path.join(top, "libltdl"))
        tree.build = run("sh ./configure --enable-ltdl-install && make -j2",
                         writable=[tree.path, "/tmp"], cwd=tree.path, timeout=900)
    return tree


def test_ltdl_builds_hermetically(ltdl):
    r = ltdl.build
    assert r.returncode == 0, r
    libs = os.path.join(ltdl.path, ".libs")
    built = glob.glob(os.path.join(libs, "libltdl.so*"))
    assert os.path.join(libs, "libltdl.so") in built, built
    assert any(os.path.isfile(p) and not os.path.islink(p) for p in built), built
    # configure and make write only inside the tree (and /tmp)
    assert r.report["violations"] == [], r.report["violations"]
    assert "write attempt" not in r.stderr, r.stderr[-2000:]
    # and the report says what the build produced: every object, libtool
    # object and library on disk was reported as written (a successful call
    # must not be taken for a failed one, whatever errno it left behind)
    written = produced(r.report)
    assert os.path.join(ltdl.path, "config.status") in written
    products = build_products(ltdl.path, (".o", ".lo", ".la", ".so.7.3.2"))
    assert len(products) > 20, products
    assert sorted(products - written) == []
    assert all(w["errno"] is None for w in r.report["writes"])


def check_install_violation(r, path, program):
    """`path` is reported as refused, attempted by `program` (basename of argv[0])."""
    found = r.violations(path=path)
    assert found, (path, [v["path"] for v in r.report["violations"]])
    for v in found:
        assert v["errno"] in ("EROFS", "EACCES", "EPERM"), v
        process = r.process(v["process"])
        assert os.path.basename(process["argv"][0]) == program, process
    return found


def test_ltdl_make_install_is_refused_and_reported(ltdl, run):
    assert ltdl.build.returncode == 0, ltdl.build
    r = run(["make", "install"], writable=[ltdl.path, "/tmp"], cwd=ltdl.path, timeout=300)
    assert r.returncode != 0, r
    assert r.report["exit"]["status"] == r.returncode

    violations = r.report["violations"]
    assert violations, r
    # everything attempted outside is the install into the prefix
    assert all(v["path"].startswith("/usr/local/") for v in violations), violations
    # make stops at the first failing target: the library into /usr/local/lib
    [v] = check_install_violation(r, "/usr/local/lib/libltdl.so.7.3.2", "install")
    assert v["op"] == "open" and "O_CREAT" in v["flags"], v
    install = r.process(v["process"])
    assert install["argv"][-2:] == [".libs/libltdl.so.7.3.2", "/usr/local/lib/libltdl.so.7.3.2"]
    assert install["exe"] == "/usr/bin/install", install
    # ... started by libtool --mode=install, started by make install
    chain = ancestors(r, v["process"])
    assert any("./libtool" in p["argv"][:2] and "--mode=install" in p["argv"] for p in chain), chain
    assert chain[-1]["argv"] == ["make", "install"], chain[-1]
    # the mkdir -p of the (existing) directory ran, and wrote nothing
    assert any(p["argv"] == ["/usr/bin/mkdir", "-p", "/usr/local/lib"]
               for p in r.report["processes"]), r.report["processes"]

    # the summary tells the user where and who
    assert "/usr/local/lib" in r.stderr, r.stderr
    assert "libltdl.so.7.3.2" in r.stderr and "EROFS" in r.stderr
    assert "install" in r.stderr


def test_ltdl_make_k_install_reports_lib_and_include(ltdl, run):
    """With -k make goes on after the first refusal: the headers and their
    directory are reported too, by install and mkdir."""
    assert ltdl.build.returncode == 0, ltdl.build
    r = run(["make", "-k", "install"], writable=[ltdl.path, "/tmp"], cwd=ltdl.path, timeout=300)
    assert r.returncode != 0, r
    paths = {v["path"] for v in r.report["violations"]}
    assert all(p.startswith("/usr/local/") for p in paths), paths
    check_install_violation(r, "/usr/local/lib/libltdl.so.7.3.2", "install")
    check_install_violation(r, "/usr/local/include/ltdl.h", "install")
    [mkdir] = check_install_violation(r, "/usr/local/include/libltdl", "mkdir")
    assert mkdir["op"] == "mkdir", mkdir
    assert r.process(mkdir["process"])["argv"][-1] == "/usr/local/include/libltdl"
    for directory in ("/usr/local/lib", "/usr/local/include"):
        assert directory in r.stderr, r.stderr
    assert "ltdl.h" in r.stderr and "mkdir" in r.stderr


# ---- the Linux kernel --------------------------------------------------------

KERNEL_TARBALL = "/usr/src/linux-source-6.1.tar.xz"


@pytest.mark.slow
@pytest.mark.skipif(not IS_ROOT, reason="the kernel build runs as root only")
@pytest.mark.skipif(not os.path.exists(KERNEL_TARBALL), reason="%s missing" % KERNEL_TARBALL)
def test_kernel_tinyconfig_builds(encapsulate, tmp_path):
    top = tempfile.mkdtemp(prefix="encapsulate-kernel-", dir=SCRATCH)
    try:
        subprocess.run(["tar", "-xJf", KERNEL_TARBALL, "-C", top], check=True)
        [source] = glob.glob(os.path.join(top, "linux-source-*"))
        report_path = str(tmp_path / "kernel.json")
        env = {k: v for k, v in os.environ.items()
               if k not in ("LD_PRELOAD", "ENCAPSULATE_SHIM", "ENCAPSULATE_SOCKET")}
        start = time.monotonic()
        completed = subprocess.run(
            [encapsulate, "--report", report_path, "-w", source, "-w", "/tmp", "--",
             "sh", "-c", "make tinyconfig && make -j2"],
            cwd=source, env=env, capture_output=True, text=True, timeout=3 * 3600)
        wall = time.monotonic() - start
        with open(report_path) as f:
            report = json.load(f)
        violations = report["violations"]
        print("\nkernel: encapsulated make tinyconfig && make -j2: %.1f s wall, exit %d, "
              "%d violations, %d processes, %d writes"
              % (wall, completed.returncode, len(violations), len(report["processes"]),
                 len(report["writes"])), file=sys.stderr)
        for v in violations:
            process = next(p for p in report["processes"] if p["id"] == v["process"])
            print("  violation: %s %s %s by %s" % (v["op"], v["path"], v["errno"],
                                                   " ".join(process["argv"])[:200]),
                  file=sys.stderr)
        assert completed.returncode == 0, completed.stderr[-4000:]
        bzimage = os.path.join(source, "arch/x86/boot/bzImage")
        assert os.path.isfile(bzimage) and os.path.getsize(bzimage) > 100000
        assert "Kernel: arch/x86/boot/bzImage is ready" in completed.stdout
        # every object and image the build left was reported as written
        written = produced(report)
        products = build_products(source, (".o", ".a"), ("vmlinux", "bzImage"))
        assert len(products) > 300, len(products)
        missing = sorted(products - written)
        assert missing == [], (len(missing), missing[:20])
        # the build writes nothing outside its tree and /tmp
        assert violations == [], violations
    finally:
        shutil.rmtree(top, ignore_errors=True)
