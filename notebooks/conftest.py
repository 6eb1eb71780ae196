"""Set-up for `pytest --nbmake`, which runs the notebooks here, each in a fresh kernel.

The kernels inherit this process's environment:
- MNIST comes from HANDGRAD_DATA_DIR (CI sets it); as in tests/conftest.py, a `shared/data/mnist`
  beside the checkout is used when it is not set.
- OpenBLAS gets one thread (unless set otherwise): the notebooks run beside other tests on 2 cores,
  where two BLAS threads per process spin against each other and run several times slower
  (see PERF-NOTES, "Threads"). Only the speed changes, and the rounding of BLAS sums.
"""

from __future__ import annotations

import os
from pathlib import Path

_shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
if "HANDGRAD_DATA_DIR" not in os.environ and _shared.is_dir():
    os.environ["HANDGRAD_DATA_DIR"] = str(_shared)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
