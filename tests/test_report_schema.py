"""The JSON report against its schema, docs/report.schema.json (documented
in docs/report.md): a command that produces nearly every kind of record
(writes, violations with "to", a path that is not UTF-8, a fork that did not
exec, a failed exec, an untraced static program, a daemon killed at the end,
--tmpfs and --hide) must give a report the schema accepts, the README's
example must match it too, and reports that break it must be rejected, so
that these tests can fail.
"""
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile

import jsonschema  # Debian: python3-jsonschema (tests/run and .ci/run install it)
import pytest

from conftest import REPO


SCHEMA_PATH = os.path.join(REPO, "docs", "report.schema.json")


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, report):
    return sorted(error.message for error in validator.iter_errors(report))


@pytest.fixture(scope="module")
def static_binary():
    """A statically linked program (ran untraced), or None without gcc -static."""
    top = tempfile.mkdtemp(prefix="encapsulate-test-schema-")
    os.chmod(top, 0o755)
    source = os.path.join(top, "static.c")
    with open(source, "w") as f:
        f.write("int main(void) { return 0; }\n")
    binary = os.path.join(top, "static-program")
    built = subprocess.run(["gcc", "-static", "-o", binary, source], capture_output=True,
                           env=dict(os.environ, TMPDIR=top))
    if built.returncode == 0:
        os.chmod(binary, 0o755)
    yield binary if built.returncode == 0 else None
    shutil.rmtree(top, ignore_errors=True)


def readme_example():
    with open(os.path.join(REPO, "README.markdown")) as f:
        text = f.read()
    [example] = [block for block in re.findall(r"```json\n(.*?)```", text, re.S)
                 if '"encapsulate_report"' in block]
    return json.loads(example)


def test_rich_report_matches_the_schema(run, user, workdir, validator, static_binary,
                                        unique_name):
    secret = os.path.join(workdir, "secret")
    os.mkdir(secret)
    if user == "nobody":
        os.chown(secret, 65534, 65534)
    outside = "/etc/" + unique_name
    cleanup = [outside, outside + "-link", outside + "-moved", "/usr/local/" + unique_name]
    cmd = """
        echo x > out; mkdir d; ln -s out lnk; (echo y > forked-out)
        echo x > "$(printf 'bad\\377name')"
        echo x > {o}; mkdir /usr/local/{u}; ln -s /nowhere {o}-link
        echo z > moved; mv moved {o}-moved
        echo x > secret/f
        echo t > /var/tmp/{u}
        ./missing-program
        {static}
        setsid sh -c 'touch started; sleep 30 # {u}' </dev/null >/dev/null 2>&1 &
        while [ ! -e started ]; do sleep 0.01; done
        exit 3
    """.format(o=outside, u=unique_name, static=static_binary or "true")
    try:
        r = run(cmd, options=["--tmpfs", "/var/tmp", "--hide", secret])
    finally:
        for path in cleanup:
            if os.path.lexists(path):
                subprocess.run(["rm", "-rf", path])
    assert r.report is not None, r
    assert errors(validator, r.report) == [], r.report

    # ... and the report holds what the schema is meant to cover.
    report = r.report
    assert report["exit"] == {"status": 3, "signal": None}, r
    assert report["tmpfs"] == ["/var/tmp"] and report["hidden"] == [secret]
    ops = {(v["op"], "to" in v) for v in report["violations"]}
    assert {("open", False), ("mkdir", False), ("symlink", True), ("rename", True)} <= ops, r
    [rename] = r.violations(op="rename")
    assert (rename["path"], rename["to"]) == (os.path.join(workdir, "moved"), outside + "-moved")
    assert r.violations(path=os.path.join(secret, "f"), op="open")
    # Bytes that are not UTF-8: one \u00XX escape per byte (json.load reads
    # \u00ff back as U+00FF).  Only inside the tree: the summary on stderr
    # would show the raw byte, which the `run` fixture cannot decode.
    assert any(w["path"] == os.path.join(workdir, "bad\u00ffname") for w in report["writes"])
    assert any(w["path"] == "/var/tmp/" + unique_name for w in report["writes"])
    assert any(p["forked"] for p in report["processes"])
    assert [(f["path"], f["errno"]) for f in report["failed_execs"]] == [
        ("./missing-program", "ENOENT")]
    assert any(unique_name in " ".join(k["argv"]) for k in report["killed"]), report["killed"]
    if static_binary:
        assert [(u["path"], u["reason"]) for u in report["untraced"]] == [(static_binary, "static")]
    assert report["events"] > 0


def test_signal_report_matches_the_schema(run, validator):
    r = run("kill -TERM $$")
    assert r.report["exit"] == {"status": 128 + 15, "signal": "SIGTERM"}, r
    assert errors(validator, r.report) == []


def test_readme_example_matches_the_schema(validator):
    assert errors(validator, readme_example()) == []


def test_docs_examples_match_the_schema(validator):
    with open(os.path.join(REPO, "docs", "report.md")) as f:
        text = f.read()
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)
                if '"encapsulate_report"' in block]
    assert examples
    for example in examples:
        assert errors(validator, example) == []


def _breakages():
    def set_(path, value):
        def change(report):
            target = report
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        return change

    def delete(path):
        def change(report):
            target = report
            for key in path[:-1]:
                target = target[key]
            del target[path[-1]]
        return change

    return {
        "version 2": set_(["encapsulate_report"], 2),
        "unknown top-level field": set_(["extra"], []),
        "missing events": delete(["events"]),
        "missing tmpfs": delete(["tmpfs"]),
        "signal number": set_(["exit", "signal"], 15),
        "unknown op": set_(["violations", 0, "op"], "write"),
        "lower-case errno": set_(["violations", 0, "errno"], "erofs"),
        "errno number": set_(["violations", 0, "errno"], 30),
        "unknown flag": set_(["violations", 0, "flags"], ["O_WRONLY", "O_BOGUS"]),
        "to on an open": set_(["violations", 0, "to"], "/elsewhere"),
        "relative path": set_(["violations", 0, "path"], "usr/local/include/x.h"),
        "count 0": set_(["violations", 0, "count"], 0),
        "extra field in a write": set_(["violations", 0, "size"], 3),
        "process as a string": set_(["processes", 0, "id"], "7"),
        "forked missing": delete(["processes", 0, "forked"]),
        "unknown untraced reason": set_(["untraced", 0, "reason"], "dynamic"),
        "killed pid missing": delete(["killed", 0, "pid"]),
        "argv not strings": set_(["killed", 0, "argv"], ["sleep", 30]),
    }


@pytest.mark.parametrize("breakage", sorted(_breakages()))
def test_broken_report_is_rejected(validator, breakage):
    report = copy.deepcopy(readme_example())
    assert errors(validator, report) == []
    _breakages()[breakage](report)
    assert errors(validator, report) != [], breakage
