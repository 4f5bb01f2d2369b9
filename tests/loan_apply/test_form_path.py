"""What the loan form's first answer loads: the form reads no table, so neither the
applications' models nor PynamoDB (nor the staff routes' token verification) are imported
on its way; the first answer that reads a table loads them."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOADS = "sorted(m for m in sys.modules if m.split('.')[0] in ('pynamodb', 'joserfc'))"


def _loaded_after(code: str) -> str:
    function = CONFIG.functions["loanApplyApi"]
    prelude = (f"import sys, importlib; importlib.import_module({function.module!r})\n"
               "from functions.common import session\nfrom functions.loan_apply import screens\n"
               "session.use(session.Session('k' * 22, 's' * 43, 'o_form', 2**40))\n")
    out = subprocess.run([sys.executable, "-c", prelude + code + f"\nprint({LOADS})"], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip().splitlines()[-1]


def test_the_form_page_loads_no_pynamodb_and_no_token_verification():
    assert _loaded_after("assert 'id_number' in screens.blank_form('o_form', '')") == "[]"


def test_the_first_answer_that_reads_a_table_loads_its_models():
    loaded = _loaded_after("from functions.loan_apply import actions\nprint(actions.store.Application.Meta.table_name)")
    assert "pynamodb" in loaded
