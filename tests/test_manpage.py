"""The man page (encapsulate.1): it documents exactly the options that
`encapsulate --help` lists, renders without warnings, and `make install`
installs it with a binary that finds its shim and reports."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import pytest

from conftest import IS_ROOT, REPO

MANPAGE = os.path.join(REPO, "encapsulate.1")


def help_text(encapsulate):
    completed = subprocess.run([encapsulate, "--help"], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 0, completed
    return completed.stdout


def manpage_text():
    with open(MANPAGE) as f:
        source = f.read()
    # roff escapes a hyphen-minus as \- ; comment lines (.\") are not the page
    lines = [line for line in source.splitlines() if not line.startswith('.\\"')]
    return "\n".join(lines).replace("\\-", "-")


def long_options(text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)", text))


def test_manpage_documents_the_options_of_help(encapsulate):
    in_help = long_options(help_text(encapsulate))
    in_page = long_options(manpage_text())
    assert {"writable", "report", "help", "version"} <= in_help  # the parser found them
    assert in_help - in_page == set(), "in --help but not in encapsulate.1"
    assert in_page - in_help == set(), "in encapsulate.1 but not in --help"


def test_manpage_short_options_match_help(encapsulate):
    in_help = set(re.findall(r"^\s+-([a-zA-Z]), --", help_text(encapsulate), re.M))
    in_page = set(re.findall(r'^\.BR -([a-zA-Z]) ", " --', manpage_text(), re.M))
    assert in_help == {"w", "r", "v", "q", "h"}
    assert in_page == in_help


def test_manpage_sections_and_exit_statuses():
    page = manpage_text()
    sections = re.findall(r"^\.SH (.*)$", page, re.M)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", '"EXIT STATUS"', "ENVIRONMENT",
                    "FILES", "EXAMPLES", "LIMITATIONS", '"SEE ALSO"'):
        assert section.strip('"') in [s.strip('"') for s in sections], section
    exit_status = page.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for status in ("125", "126", "127", "128+", "\n.B 3\n", "command's own"):
        assert status in exit_status, status
    see_also = page.split(".SH SEE ALSO", 1)[1]
    for page_name in ("bwrap (1)", "unshare (1)", "namespaces (7)", "user_namespaces (7)",
                      "ld.so (8)"):
        assert page_name in see_also, page_name


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_manpage_renders_without_warnings():
    completed = subprocess.run(["groff", "-man", "-ww", "-z", MANPAGE], capture_output=True,
                               text=True, timeout=60)
    assert completed.returncode == 0 and completed.stdout == "" and completed.stderr == "", \
        completed


@pytest.mark.skipif(not IS_ROOT, reason="run as root only")
def test_make_install_installs_a_working_encapsulate_and_the_manpage():
    destdir = tempfile.mkdtemp(prefix="encapsulate-test-install-")
    work = tempfile.mkdtemp(prefix="encapsulate-test-")
    name = "encapsulate-test-%s" % uuid.uuid4().hex[:12]
    try:
        completed = subprocess.run(["make", "-s", "-C", REPO, "install", "DESTDIR=" + destdir,
                                    "PREFIX=/usr/local"],
                                   capture_output=True, text=True, timeout=600)
        assert completed.returncode == 0, completed
        prefix = os.path.join(destdir, "usr", "local")
        binary = os.path.join(prefix, "bin", "encapsulate")
        shim = os.path.join(prefix, "lib", "encapsulate", "libencapsulate.so")
        page = os.path.join(prefix, "share", "man", "man1", "encapsulate.1")
        for path in (binary, shim, page):
            assert os.path.isfile(path), path
        assert os.access(binary, os.X_OK)
        with open(page) as installed, open(MANPAGE) as source:
            assert installed.read() == source.read()

        env = dict(os.environ)
        for variable in ("LD_PRELOAD", "ENCAPSULATE_SHIM", "ENCAPSULATE_SOCKET"):
            env.pop(variable, None)

        def encapsulate(*argv):
            return subprocess.run([binary] + list(argv), cwd=work, env=env, capture_output=True,
                                  text=True, timeout=120)

        r = encapsulate("-w", work, "--", "true")
        assert r.returncode == 0, r
        # the shim it found is the installed one, beside the binary
        r = encapsulate("-q", "-w", work, "--", "sh", "-c", 'printf %s "$ENCAPSULATE_SHIM"')
        assert r.returncode == 0 and r.stdout == os.path.realpath(shim), r

        target = "/etc/" + name
        report = os.path.join(work, "report.json")
        r = encapsulate("--report", report, "-w", work, "--", "sh", "-c", "echo > " + target)
        assert r.returncode != 0, r  # sh could not create the file
        assert not os.path.exists(target)
        with open(report) as f:
            data = json.load(f)
        [violation] = [v for v in data["violations"] if v["path"] == target]
        assert violation["op"] == "open" and violation["errno"] == "EROFS"
        assert name in r.stderr
    finally:
        shutil.rmtree(destdir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        if os.path.exists("/etc/" + name):
            os.unlink("/etc/" + name)
