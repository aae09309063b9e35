"""`make bench`'s benchmarks run to their end.

The suite does not measure speed (a test never asserts a time), but a benchmark that no longer
runs is a defect nobody sees until someone runs `make bench`: the encryption and household-load
benchmarks failed that way for a while (their stores lacked the event chain's tables). Those
that need no broker run here in quick mode, from a directory of their own (their results file
is written there), and each must give its figures: no benchmark FAILED, each result with both
sides measured. Their ratios are not checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

# The benchmarks without a broker, and a result each must give (the others are theirs too).
EXPECTED = {
    "commands": "commands",
    "encryption": "encryption: register rebuild",
    "household_load": "household_load",
    "chain": "commands with the event chain",
    "import": "import",
}


def test_the_benchmarks_without_a_broker_run_to_their_end(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *EXPECTED],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "FAILED" not in done.stdout + done.stderr
    results = json.loads((tmp_path / "var" / "bench-results.json").read_text())["results"]
    for benchmark, name in EXPECTED.items():
        assert name in results, f"{benchmark} gave no {name!r} result: {sorted(results)}"
    for name, result in results.items():
        assert result["casework"] > 0 and result["raw"] > 0, name
