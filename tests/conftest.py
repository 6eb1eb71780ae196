"""Shared test set-up: Hypothesis profiles and where MNIST lives.

Profiles: "ci" (the default; at least 200 examples per property, derandomized so that the same
commit always tests the same examples), "dev" (quick) and "thorough" (2,000 fresh random examples
per property, on demand, to look for what the fixed examples miss). Pick with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os
from pathlib import Path

# One OpenBLAS thread per test process, set before NumPy loads: the suite runs as two xdist workers
# on two cores, and two BLAS threads per process spin against each other (../shared/PERF-NOTES.md,
# "Threads"), several times slower. Only speed and the last bits of BLAS sums change.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=25)
settings.register_profile(
    "thorough", parent=settings.get_profile("ci"), max_examples=2000, derandomize=False
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests that need MNIST read it from HANDGRAD_DATA_DIR (CI sets it); a `shared/data/mnist` beside
# the checkout is found as well; otherwise handgrad's own download (pooch, sha256-checked) fetches it
# into the per-user cache. They never skip: no data and no network fails them.
_shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
if "HANDGRAD_DATA_DIR" not in os.environ and _shared.is_dir():
    os.environ["HANDGRAD_DATA_DIR"] = str(_shared)
