"""The smallest end-to-end check: a write inside lands, a write outside is
refused with EROFS and appears in the report and the summary."""
import os


def test_inside_lands_outside_is_reported(run, workdir, unique_name):
    target = "/etc/%s" % unique_name
    r = run("echo in > inside.txt; echo out > %s; echo rc=$?" % target)
    assert r.returncode == 0, r
    assert open(os.path.join(workdir, "inside.txt")).read() == "in\n"
    assert not os.path.exists(target)
    assert "Read-only file system" in r.stderr
    [v] = r.violations(path=target)
    assert v["op"] == "open" and v["errno"] == "EROFS" and v["count"] == 1
    assert r.process(v["process"])["argv"][0] == "sh"
    assert target.split("/")[-1] in r.stderr and "EROFS" in r.stderr
    assert [w["path"] for w in r.report["writes"]] == [os.path.join(workdir, "inside.txt")]
