"""Every row of shim/interpose.def has a test, exercised through that exact
symbol.

The rows are parsed from the table itself (the same sed pattern the Makefile
uses for the export list).  A symbol passes when it is a key of
test_shim.WRITE_CASES (the write entry points: outside and inside) or of
both test_shim.EXEC_CASES and test_shim.EXEC_FAILURES (exec and spawn), of
test_shim.SHELL_CASES, test_shim.FILE_ACTION_CASES (posix_spawn's file
actions) or test_shim.SYSCALL_CASES, when
shimcall.c calls it by name, and when the built shimcall imports that very
symbol (no fortify or inline redirection to another one).
"""
import os
import re
import subprocess

import pytest

import test_shim
from test_shim import shimcall  # noqa: F401  (the fixture)
from conftest import REPO

TABLE = os.path.join(REPO, "shim", "interpose.def")
ROW = re.compile(r"^SHIM\(\s*([A-Z0-9_]+)\s*,\s*([A-Za-z0-9_]+)\s*,\s*([A-Z0-9_]+)\s*\)")


def table_rows():
    rows = []
    with open(TABLE) as f:
        for line in f:
            match = ROW.match(line)
            if match:
                rows.append(match.groups())
    return rows


ROWS = table_rows()


def test_table_is_not_empty():
    symbols = [name for _, name, _ in ROWS]
    assert len(symbols) >= 50
    assert len(symbols) == len(set(symbols)), "a symbol appears twice in interpose.def"


def test_every_case_is_a_row():
    """No test for a symbol the table no longer has (a stale case would make
    the coverage look better than it is)."""
    symbols = {name for _, name, _ in ROWS}
    stale = (set(test_shim.WRITE_CASES) | set(test_shim.EXEC_CASES)
             | set(test_shim.EXEC_FAILURES) | set(test_shim.SHELL_CASES)
             | set(test_shim.SYSCALL_CASES) | set(test_shim.FILE_ACTION_CASES)) - symbols
    assert not stale


@pytest.mark.parametrize("shape,name,operation", ROWS, ids=[r[1] for r in ROWS])
def test_row_has_a_test(shape, name, operation):
    if shape == "EXEC":
        assert operation == "OP_EXEC"
        assert name in test_shim.EXEC_CASES, "%s: no case in test_shim.EXEC_CASES" % name
        assert name in test_shim.EXEC_FAILURES, "%s: no case in test_shim.EXEC_FAILURES" % name
    elif shape == "SHELL":
        assert operation == "OP_EXEC"
        assert name in test_shim.SHELL_CASES, "%s: no case in test_shim.SHELL_CASES" % name
    elif shape == "FILE_ACTION":
        assert operation == "OP_OPEN"
        assert name in test_shim.FILE_ACTION_CASES, \
            "%s: no case in test_shim.FILE_ACTION_CASES" % name
    elif shape == "SYSCALL":
        assert name in test_shim.SYSCALL_CASES, "%s: no case in test_shim.SYSCALL_CASES" % name
    else:
        assert name in test_shim.WRITE_CASES, "%s: no case in test_shim.WRITE_CASES" % name
        op = test_shim.WRITE_CASES[name][1]
        expected = operation[len("OP_"):].lower()
        # unlinkat reports rmdir only with AT_REMOVEDIR; its case has none.
        assert op == expected, "%s: the case expects op %r, the table says %s" % (name, op, operation)
    with open(test_shim.SHIMCALL_SOURCE) as f:
        source = f.read()
    assert re.search(r"\b%s\(" % re.escape(name), source), "shimcall.c never calls %s" % name
    assert '"%s"' % name in source, "shimcall.c has no function name %r" % name


def test_shimcall_imports_every_symbol(shimcall):
    """The built driver calls each interposed symbol itself, by that name."""
    out = subprocess.run(["nm", "-D", "--undefined-only", shimcall], check=True,
                         capture_output=True, text=True).stdout
    imported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    missing = [name for _, name, _ in ROWS if name not in imported]
    assert not missing, "shimcall does not import: %s" % missing


def test_library_exports_every_symbol(install_dir):
    library = os.path.join(install_dir, "lib", "libencapsulate.so")
    out = subprocess.run(["nm", "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    exported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    missing = [name for _, name, _ in ROWS if name not in exported]
    assert not missing, "libencapsulate.so does not export: %s" % missing
