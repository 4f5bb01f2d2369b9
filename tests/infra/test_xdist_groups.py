"""`make test` runs the suite on two workers with `--dist loadgroup`: a named xdist group's
tests (the browser journeys, the packaged stage) and a module's tests (its local stack, its
`make run`) each run on one worker, or their shared fixtures are built on both. Checked on a
small suite run as `make test` runs this one, since a pytest that xdist no longer follows
drops the groups without a word (pytest-dev/pytest-xdist#1386)."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = """
import os
from pathlib import Path

import pytest

import pytest

{mark}


@pytest.mark.parametrize("n", range(6))
def test_where(n):
    Path(os.environ["WHERE"], f"{{__name__}}-{{n}}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_group_and_a_module_each_run_on_one_worker(tmp_path):
    suite, where = tmp_path / "suite", tmp_path / "where"
    suite.mkdir()
    where.mkdir()
    (suite / "conftest.py").write_text("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    (suite / "test_grouped_a.py").write_text(TESTS.format(mark='pytestmark = pytest.mark.xdist_group("g")'))
    (suite / "test_grouped_b.py").write_text(TESTS.format(mark='pytestmark = pytest.mark.xdist_group("g")'))
    (suite / "test_module_c.py").write_text(TESTS.format(mark=""))
    (suite / "test_module_d.py").write_text(TESTS.format(mark=""))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # this run's worker's
    # only xdist among the installed plugins: each of the three processes would load them all
    env.update({"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "WHERE": str(where),
                "PYTHONPATH": os.pathsep.join(filter(None, (env.get("PYTHONPATH"), str(ROOT))))})
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "xdist", "-n", "2", "--dist", "loadgroup",
                          "--no-loadscope-reorder", "-q",
                          "-p", "no:cacheprovider", "--rootdir", str(suite), str(suite)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    workers: dict[str, set[str]] = defaultdict(set)
    for ran in where.iterdir():
        workers[ran.name.rsplit("-", 1)[0]].add(ran.read_text())
    assert len(list(where.iterdir())) == 24
    grouped = workers["test_grouped_a"] | workers["test_grouped_b"]
    assert len(grouped) == 1, f"group g ran on {sorted(grouped)}"
    assert len(workers["test_module_c"]) == 1 and len(workers["test_module_d"]) == 1, dict(workers)


class _Item:
    """What the grouping hook reads and writes of a collected test."""

    def __init__(self, nodeid: str, *marks):
        self.nodeid, self.marks = nodeid, [m.mark for m in marks]

    def get_closest_marker(self, name: str):
        return next((m for m in self.marks if m.name == name), None)

    def add_marker(self, mark) -> None:
        self.marks.append(mark.mark)


def test_the_groups_holding_a_slow_test_come_first_each_whole_and_in_order():
    """With `--no-loadscope-reorder` xdist deals the groups out in collection order."""
    from tests.conftest import pytest_collection_modifyitems

    items = [_Item("a.py::t1"), _Item("b.py::t1", pytest.mark.xdist_group("g")), _Item("c.py::t1"),
             _Item("d.py::t1", pytest.mark.slow), _Item("a.py::t2"), _Item("e.py::t1", pytest.mark.xdist_group("g")),
             _Item("d.py::t2"), _Item("f.py::t1", pytest.mark.xdist_group("g"), pytest.mark.slow)]
    pytest_collection_modifyitems(None, items)
    assert [i.nodeid for i in items] == ["b.py::t1", "e.py::t1", "f.py::t1", "d.py::t1", "d.py::t2",
                                         "a.py::t1", "a.py::t2", "c.py::t1"]
