"""once.build_once: threads that ask at the same time get the one value built once; a module
on first use: not imported until asked, then the whole module, even for threads that ask
while it runs; the features' first pages load no tables."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from functions.common.once import ModuleOnFirstUse, build_once

# the module below, while it runs, says so and waits for the test's word
RUNNING, RELEASE = threading.Event(), threading.Event()
SLOW_MODULE = """
from tests.common.test_once import RELEASE, RUNNING
RUNNING.set()
RELEASE.wait(5)
VALUE = 42
"""


def test_threads_asking_together_get_the_one_value_built_once():
    builds = []
    release = threading.Event()
    arrived = threading.Condition()
    asking = [0]

    @build_once
    def value() -> object:
        builds.append(1)
        release.wait(5)  # the others ask while it is being built
        return object()

    got: list[object] = []

    def ask() -> None:
        with arrived:
            asking[0] += 1
            arrived.notify_all()
        got.append(value())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    with arrived:
        arrived.wait_for(lambda: asking[0] == 8, timeout=5)
    release.set()
    for t in threads:
        t.join(5)
    assert len(builds) == 1 and len(got) == 8 and len({id(v) for v in got}) == 1
    assert value() is got[0]


def test_a_module_on_first_use_runs_at_the_first_question_and_whole_for_every_thread(tmp_path, monkeypatch):
    (tmp_path / "first_use_slow.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "first_use_slow", raising=False)
    slow = ModuleOnFirstUse("first_use_slow")
    assert "first_use_slow" not in sys.modules
    got: list[object] = []

    def ask() -> None:
        try:
            got.append(slow.VALUE)
        except AttributeError as error:  # a thread that saw the module half run
            got.append(error)

    first = threading.Thread(target=ask)
    first.start()
    assert RUNNING.wait(5)
    others = [threading.Thread(target=ask) for _ in range(4)]  # they ask while the module runs
    for t in others:
        t.start()
    RELEASE.set()
    for t in [first, *others]:
        t.join(5)
    assert got == [42] * 5
    assert sys.modules["first_use_slow"].VALUE == 42


@pytest.mark.parametrize("app", ["functions.booking.app", "functions.loan_apply.app", "functions.products.app"])
def test_a_first_page_loads_no_tables(app):
    """The branch picker, the loan form and the catalogue read what they show without
    PynamoDB (booking/roster.py, products/listing.py): the tables load with the first answer
    that needs them."""
    probe = f"import sys, {app}; print(sorted(m for m in sys.modules if m.startswith('pynamodb')))"
    out = subprocess.run([sys.executable, "-c", probe], env=dict(os.environ), capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
