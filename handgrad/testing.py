"""pytest helpers for your own gradients: `assert_gradients_match` raises with the checker's table.

    from handgrad.testing import assert_gradients_match

    def test_my_backprop():
        assert_gradients_match(my_backprop, "relu-softmax-column", (784, 10, 10))

An inconclusive check (the oracle's limits, e.g. ReLU kinks) passes unless `strict=True`: a
correct gradient must never fail. Where your function raised, the AssertionError is chained to
that exception, so pytest shows its traceback through your own code.
"""

from __future__ import annotations

from collections.abc import Callable

from handgrad.check import CheckReport, check_gradients
from handgrad.models import Model


def assert_gradients_match(
    grad_fn: Callable, model: Model | str, sizes=None, *, strict: bool = False, **options
) -> CheckReport:
    """`check_gradients(grad_fn, model, sizes, **options)`, raising AssertionError when wrong."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this one
    report = check_gradients(grad_fn, model, sizes, **options)
    failed = report.verdict in ("fail", "error") or (strict and report.verdict != "pass")
    if failed:
        raise AssertionError(f"gradients do not match:\n{report}") from report.exception
    return report
