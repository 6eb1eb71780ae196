"""Shared test set-up: Hypothesis profiles and where MNIST lives.

Profiles: "ci" (the default; at least 200 examples per property, derandomized so that the same
commit always tests the same examples) and "dev" (quick). Pick with HYPOTHESIS_PROFILE=dev.
"""

from __future__ import annotations

import os
from pathlib import Path

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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests that need MNIST read it from HANDGRAD_DATA_DIR (CI sets it); next to a checkout the shared
# copy is found as well. They never skip: a missing directory fails them.
if "HANDGRAD_DATA_DIR" not in os.environ:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    os.environ["HANDGRAD_DATA_DIR"] = str(shared)
