"""The kinds of executable check an audit entry can carry; calling one returns an `Outcome`.

- `Gradient`: a document's backward pass (`Backward`, lines of NumPy in the document's own names, each
  a slot) with some slots replaced by the as-written lines, run through the checker
  (`handgrad.check.check_gradients`) against the stated model. The checker gives the verdict and the
  diagnosis (sign, scale factor, transpose, wrong axis, ...).
- `Value`: as-written code (a forward step, a loss, a worked example's numbers) compared numerically
  with the stated model's value.
- `Descent`: an as-written update rule, applied with the model's true gradient; one small step must
  lower the loss by alpha ||g||^2 to first order.
- `Hazard`: as-written code on an input that demonstrates a numerical hazard (overflow, log 0, a
  one-hot width taken from the batch, silent broadcasting), which a gradient check cannot see.
- `Statement`: a sentence of prose that gives a reason and a conclusion ("X, so Y"), each part its
  own check: the sentence is wrong when a part is, and the diagnosis says which part holds.
- `Returned`: the quantities a sentence says a function returns, against what its code returns.

Code runs with `exec` in a fresh namespace, so an as-written line that cannot run raises its own
exception (NameError, SyntaxError, a NumPy shape mismatch), which becomes the evidence. One
NameError is a wrong formula rather than an unexecutable one: an as-written line of a backward pass
that reads the very quantity it defines (004's dZ^1 = W^2.T * dZ^1 * g'()) or defines another
quantity than its own (001's ∂C/∂a_k^(L) where the sum gives ∂C/∂a_k^(L-1)), so that a quantity of
the backward pass is used before it exists. Its verdict is "wrong", with that reason as diagnosis
and the exception as evidence (`too_early`). A name no line of the backward pass computes (002's
undefined `m`), a line missing altogether, a SyntaxError stay "not executable".

Another NameError is a slip of notation: a name used for a quantity that is defined under the same
name in another case (002 defines dB^{[l]} and updates with db^{[l]}). The quantity exists; the
text calls it two ways. Its verdict is "wrong", diagnosed as notation, with the NameError as
evidence (`misnamed`).

Where the checker cannot name a wrong gradient's error but one of its known bugs reproduces it
exactly ("no simple pattern fits, but it matches the gradient with A3 used in dW3 where A2
belongs"), the sheet names that bug, plainly: "W3: A3 used in dW3 where A2 belongs" (`_plain`).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference
from handgrad.audit.registry import Check, Inputs, Outcome, Setup, inputs
from handgrad.check import check_gradients
from handgrad.models import Model
from handgrad.tolerances import close, relative_error, tolerance

Namespace = dict[str, Any]


def fmt(x: float) -> str:
    """x to 3 significant digits, so that printed numbers are the same on every machine."""
    if x is None or not np.isfinite(x):
        return str(x)
    return "0" if x == 0 else f"{float(x):.3g}"


def exception_text(error: BaseException) -> str:
    """The exception's type and first line, e.g. "NameError: name 'm' is not defined"."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def misnamed(error: BaseException, namespace: Namespace) -> str:
    """The notation slip behind a NameError, or "" when there is none.

    A slip: the undefined name is, but for case, a name the namespace defines (db1 for dB1).
    """
    name = getattr(error, "name", None) if isinstance(error, NameError) else None
    if not name:
        return ""
    others = sorted(k for k in namespace if k != name and k.lower() == name.lower())
    if not others:
        return ""
    return (
        f"notation: {name} is used, but the quantity is defined as {' or '.join(others)}: one "
        "quantity under two names"
    )


def execute(code: str, namespace: Namespace, label: str = "as written") -> Namespace:
    """Run `code` in `namespace` (NumPy's floating-point warnings silenced) and return it."""
    namespace.setdefault("np", np)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, f"<{label}>", "exec"), namespace)
    return namespace


def evaluate(code: str, result: str, namespace: Namespace, label: str = "as written") -> Any:
    """Run `code`, then evaluate the expression `result` in the same namespace."""
    execute(code, namespace, label)
    with np.errstate(all="ignore"):
        return eval(result, namespace)


def show(value: Any) -> str:
    """A short rendering of a number or small array at 3 significant digits."""
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:
        return fmt(float(array.reshape(-1)[0]))
    if array.size <= 10:
        return "[" + ", ".join(fmt(v) for v in array.reshape(-1)) + "]"
    return f"array of shape {array.shape}"


# --- gradients -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Backward:
    """A document's backward pass, correct, as named lines of NumPy in the document's own names.

    `head` lines run once; `layer` lines run for l = L, ..., 1 with "{l}" and "{p}" (= l - 1)
    filled in. `outputs` maps each parameter to the expression giving its gradient ("{l}" allowed),
    such as "dW1" or, for formulas stated per example, "np.mean(dC_dw{l}, axis=1, keepdims=True)".
    `namespace(model, params, X, Y)` gives the forward quantities in the document's names.
    """

    setup: Setup
    namespace: Callable[[Model, Mapping, np.ndarray, np.ndarray], Namespace]
    head: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]
    layer: tuple[tuple[str, str], ...] = ()

    def program(self, replace: Mapping[str, str], depth: int) -> list[tuple[str, str]]:
        """(slot, code) lines with the replacements made; "slot@l" replaces one layer's line."""
        lines = [(slot, replace.get(slot, code)) for slot, code in self.head]
        for l in range(depth, 0, -1):
            for slot, code in self.layer:
                code = replace.get(f"{slot}@{l}", replace.get(slot, code))
                lines.append((f"{slot}@{l}", code.format(l=l, p=l - 1)))
        return lines

    def grad_fn(self, replace: Mapping[str, str]) -> Callable:
        """grad_fn(params, X, Y) -> {"W1": ..., ...} running the program with the replacements."""

        def grad_fn(params, X, Y):
            model = inputs(self.setup).model
            ns = self.namespace(model, params, X, Y)
            for slot, code in self.program(replace, model.depth):
                if code:
                    execute(code, ns, label=slot)
            grads = {}
            for key, expression in self.outputs:
                for l in range(1, model.depth + 1) if "{l}" in key else [None]:
                    with np.errstate(all="ignore"):
                        grads[key.format(l=l)] = eval(expression.format(l=l), ns)
            return grads

        return grad_fn


# The same program on the same inputs gives the same outcome: run it once per process.
_GRADIENT_OUTCOMES: dict[tuple, Outcome] = {}


@dataclass(frozen=True, eq=False)
class Gradient:
    """The backward pass with `replace` ({slot: as-written code}) run through the checker."""

    backward: Backward
    replace: tuple[tuple[str, str], ...] = ()
    loss: Callable | None = None  # a JAX-traceable loss(params, X, Y) other than the model's

    @property
    def code(self) -> str:
        """The as-written lines this check puts into the backward pass."""
        return "\n".join(code for _, code in self.replace)

    def __call__(self) -> Outcome:
        depth = len(self.backward.setup.sizes) - 1
        key = (self.backward, tuple(self.backward.program(dict(self.replace), depth)), self.loss)
        if key not in _GRADIENT_OUTCOMES:
            _GRADIENT_OUTCOMES[key] = self._run()
        return _GRADIENT_OUTCOMES[key]

    def _run(self) -> Outcome:
        inp = inputs(self.backward.setup)
        grad_fn = self.backward.grad_fn(dict(self.replace))
        try:
            grad_fn({k: v.copy() for k, v in inp.params.items()}, inp.X.copy(), inp.Y.copy())
        except Exception as error:  # the as-written code itself cannot run: that is the evidence
            reason = too_early(self.backward, dict(self.replace), error, inp.model.depth)
            if reason:
                return Outcome("wrong", reason, exception_text(error))
            return Outcome("not executable", "the code raises", exception_text(error))
        return gradient_outcome(grad_fn, inp, self.loss)


def _defined(code: str) -> set[str]:
    """The names `code` assigns or defines at its top level (not loop or comprehension variables)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            for n in ast.walk(target) if target is not None else ():
                if isinstance(n, ast.Name):
                    out.add(n.id)
    return out


def _read(code: str) -> set[str]:
    """The names `code` reads."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def too_early(backward: Backward, replace: Mapping[str, str], error: Exception, depth: int) -> str:
    """Why a NameError shows the as-written formula wrong, or "" when it is merely unexecutable.

    Wrong: the undefined name is a quantity the correct backward pass computes, and an as-written
    line either reads it while defining it, or defines another name where its slot defines it.
    """
    name = getattr(error, "name", None) if isinstance(error, NameError) else None
    right = dict(backward.program({}, depth))
    if not name or not any(name in _defined(code) for code in right.values()):
        return ""
    for slot, code in backward.program(replace, depth):
        if not code.strip() or code == right[slot]:
            continue  # a missing line or a line as the correct pass has it
        defines = _defined(code)
        if name in defines and name in _read(code):
            return f"{name} is used on the right of its own definition: it does not exist yet"
        if defines and name not in defines and name in _defined(right[slot]):
            return (
                f"it defines {', '.join(sorted(defines))} where {name} belongs: {name} is never "
                "computed, and the rest of the backward pass needs it"
            )
    return ""


def gradient_outcome(grad_fn: Callable, inp: Inputs, loss: Callable | None = None) -> Outcome:
    """Verdict of grad_fn on `inp` by the checker (`handgrad.check.check_gradients`)."""
    try:
        report = check_gradients(
            grad_fn, inp.model, params=dict(inp.params), X=inp.X, Y=inp.Y, seed=0, loss=loss
        )
    except ValueError as error:  # e.g. a gradient whose shape cannot be the parameter's
        return Outcome("wrong", exception_text(error), "the checker rejects the gradient")
    return _report_outcome(report)


def _report_outcome(report) -> Outcome:
    """Verdict, diagnosis and evidence from a CheckReport."""
    measured = {
        key: {
            "verdict": p.verdict,
            "max_rel_error": p.max_rel_error,
            "diagnosis": getattr(p.diagnosis, "kind", None),
            "factor": getattr(p.diagnosis, "factor", None),
        }
        for key, p in report.parameters.items()
    }
    measured["first_wrong_layer"] = report.first_wrong_layer
    if report.verdict == "pass":
        tol = tolerance(np.float64, "autodiff")
        evidence = f"checker: pass (every entry within rtol {tol.rtol:.0e}, atol {tol.atol:.0e})"
        return Outcome("correct", "", evidence, measured)
    if report.verdict == "inconclusive":
        return Outcome("inconclusive", "; ".join(report.notes), "checker: inconclusive", measured)
    if report.verdict == "error":
        return Outcome("wrong", report.error or "", "checker: error", measured)
    failing = [(k, p) for k, p in report.parameters.items() if p.verdict == "fail"]
    groups: dict[tuple, list[str]] = {}
    for k, p in failing:
        d = p.diagnosis
        factor = None if d.factor is None else round(float(d.factor), 3)
        kind, detail = _plain(k, d.kind or "unexplained", _first_detail(d.detail))
        groups.setdefault((kind, factor, detail), []).append(k)
    diagnosis = "; ".join(
        f"{', '.join(keys)}: {kind}"
        + (f" (factor {fmt(factor)})" if factor is not None else "")
        + (f": {detail}" if detail else "")
        for (kind, factor, detail), keys in groups.items()
    )
    evidence = ", ".join(
        f"{k} shape"
        if p.diagnosis.kind == "shape" or p.max_abs_error is None
        else f"{k} abs. err {fmt(p.max_abs_error)}"
        if p.max_rel_error is None
        else f"{k} rel. err {fmt(p.max_rel_error)}"
        for k, p in failing
    )
    if report.first_wrong_layer is not None:
        evidence += f"; first wrong layer {report.first_wrong_layer}"
    return Outcome("wrong", diagnosis, evidence, measured)


_REPRODUCED = re.compile(r"(?:no simple pattern fits, but )?it matches the gradient with (.+)")
_OTHER_PARAMETER = re.compile(
    r"(?:no simple pattern fits, but )?it equals the right d(\w+)(?: \(off by a layer\?\))?"
)


def _plain(key: str, kind: str, detail: str) -> tuple[str, str]:
    """(kind, detail) as the sheet prints them: a known bug that reproduces the gradient, named.

    The checker calls such a gradient a "known-bug" and says which bug gives it exactly: the sheet
    says that bug alone.
    """
    if kind != "known-bug":
        return kind, detail
    found = _REPRODUCED.fullmatch(detail)
    if found:
        return found.group(1), ""
    found = _OTHER_PARAMETER.fullmatch(detail)
    if found:
        other = found.group(1)
        return f"it equals the right d{other}: d{other} where d{key} belongs", ""
    return kind, detail


def _first_detail(detail: str) -> str:
    """The checker's detail, shortened for a table cell.

    Dropped: the restated factor ("-8 times the right gradient (...)"), the where-to-look layer hint
    (the evidence names the first wrong layer) and the hint about a returned tuple's order (the
    audit's gradient functions return dicts).
    """
    detail = detail or ""
    if "times the right gradient" in detail:
        detail = detail.split(":", 1)[1].strip() if ":" in detail else ""
    detail = re.split(r"; (?:the first wrong layer|counting from the output)", detail)[0]
    return re.sub(r" \(is the tuple in the order [^)]*\)\?\)", "", detail).strip()


# --- values, updates, hazards ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Value:
    """`code` as written, then `result` evaluated, compared with `expected(namespace)`.

    `atol` is the tolerance for numbers a document states rounded (half a unit of the last digit);
    None compares computed values within the "formulations" tolerance (only rounding differs).
    """

    code: str
    result: str
    expected: Callable[[Namespace], Any]
    namespace: Callable[[], Namespace]
    atol: float | None = None
    what: str = "value"
    prelude: str = ""  # helper definitions run first (the document's own, when it has them)
    label: str = "as written"

    def __call__(self) -> Outcome:
        ns = self.namespace()
        try:
            ns = execute(self.prelude, ns, "helpers")
            actual = evaluate(self.code, self.result, ns, self.label)
        except Exception as error:
            slip = misnamed(error, ns)
            if slip:
                return Outcome("wrong", slip, exception_text(error))
            return Outcome("not executable", "the code raises", exception_text(error))
        expected = self.expected(self.namespace())
        if actual is None:
            return Outcome("wrong", f"{self.what} is None", "the code returns None")
        a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        if a.shape != e.shape and not (a.size == e.size == 1):
            return Outcome(
                "wrong",
                f"{self.what} has shape {a.shape}, the model's has {e.shape}",
                f"shape {a.shape} vs {e.shape}",
            )
        a, e = a.reshape(e.shape), e
        measured = {"actual": a.tolist(), "expected": e.tolist()} if e.size <= 10 else {}
        if not np.all(np.isfinite(a)):
            return Outcome("wrong", f"{self.what} is not finite", f"got {show(a)}", measured)
        if self.atol is None:
            tol = tolerance(np.float64, "formulations")
            ok = close(a, e, tol)
            err = relative_error(a, e)
            measured["rel_error"] = err
            if ok:
                return Outcome(
                    "correct", "", f"agrees with the model (rtol {tol.rtol:.0e})", measured
                )
            text = f"as written {show(a)}, the model {show(e)}" if e.size <= 10 else ""
            return Outcome("wrong", text, f"rel. err {fmt(err)}", measured)
        ok = bool(np.all(np.abs(a - e) <= self.atol + 1e-12))
        text = f"as written {show(a)}, the model {show(e)}"
        return Outcome("correct" if ok else "wrong", "" if ok else text, text, measured)


@dataclass(frozen=True, eq=False)
class Descent:
    """An as-written update rule, run with the true gradient dW1, db1, ... and a small alpha.

    Gradient descent lowers the loss by alpha ||g||^2 to first order: the check measures
    (C(p) - C(p_new)) / (alpha ||g||^2), which is 1 for p := p - alpha dC/dp. With `updates`, the
    names a text says the code updates (none: `()`), the check is instead whether the code changes
    exactly those (of the parameters and alpha); `what` names the code in the outcome. The code
    also sees the batch (X, A0, Y), for a forward pass said to learn.
    """

    code: str
    setup: Setup
    names: str = "d{key}"  # the document's name of dC/dp: "d{key}" (dW1, db1), "d{lower}" (dw1)
    alpha: float = 1e-4
    updates: tuple[str, ...] | None = None
    what: str = "the rule"

    def __call__(self) -> Outcome:
        from handgrad.formulations import loss

        inp = inputs(self.setup)
        g = reference.jax_gradients(inp.model, inp.params, inp.X, inp.Y)
        ns = {k: v.copy() for k, v in inp.params.items()} | {"alpha": self.alpha}
        ns |= {"X": inp.X.copy(), "A0": inp.X.copy(), "Y": inp.Y.copy()}
        for k, v in g.items():
            ns[self.names.format(key=k, lower=k.lower(), upper=k.upper())] = v
        try:
            execute(self.code, ns)
        except Exception as error:
            slip = misnamed(error, ns)
            if slip:
                return Outcome("wrong", slip, exception_text(error))
            return Outcome("not executable", "the code raises", exception_text(error))
        new = {k: ns[k] for k in inp.params}
        if self.updates is not None:
            changed = [k for k in inp.params if not np.array_equal(new[k], inp.params[k])]
            changed += ["alpha"] if ns["alpha"] != self.alpha else []
            text = f"{self.what} changes {', '.join(changed) or 'nothing'}"
            if "alpha" in self.code and "alpha" not in changed:
                text += "; alpha stays as it is"
            if set(changed) == set(self.updates):
                return Outcome("correct", "", text, {"changed": changed})
            return Outcome("wrong", text, text, {"changed": changed})
        shapes = {k: np.shape(v) for k, v in new.items() if np.shape(v) != inp.params[k].shape}
        if shapes:
            return Outcome("wrong", f"parameters change shape: {shapes}", "shape changed")
        drop = loss(inp.model, inp.params, inp.X, inp.Y) - loss(inp.model, new, inp.X, inp.Y)
        ratio = drop / (self.alpha * sum(float(np.sum(v * v)) for v in g.values()))
        measured = {"ratio": ratio}
        text = f"loss drop / (alpha ||g||^2) = {ratio:.2f}"
        ok = abs(ratio - 1) < 1e-2
        return Outcome("correct" if ok else "wrong", "" if ok else text, text, measured)


@dataclass(frozen=True, eq=False)
class Hazard:
    """`code` as written on a demonstrating input; `detect(value, namespace)` names the hazard.

    The outcome is "hazard" when the code raises or `detect` returns a description, "safe"
    otherwise. NumPy's floating-point warnings are recorded as part of the evidence.
    """

    code: str
    result: str
    namespace: Callable[[], Namespace]
    detect: Callable[[Any, Namespace], str] = field(default=lambda v, ns: _not_finite(v))
    input: str = ""

    def __call__(self) -> Outcome:
        ns = self.namespace()
        ns.setdefault("np", np)
        errors = np.errstate(over="warn", divide="warn", invalid="warn", under="ignore")
        with warnings.catch_warnings(record=True) as caught, errors:
            warnings.simplefilter("always")
            try:
                exec(compile(self.code, "<as written>", "exec"), ns)
                value = eval(self.result, ns)
            except Exception as error:
                return Outcome("hazard", self.input, exception_text(error))
        found = self.detect(value, ns)
        notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        evidence = "; ".join([found or f"result {show(value)}", *notes])
        return Outcome("hazard" if found else "safe", self.input, evidence)


def _not_finite(value: Any) -> str:
    """What is not finite in the value ("nan in the result ..."), or "" when all is finite."""
    array = np.asarray(value, dtype=np.float64)
    if np.all(np.isfinite(array)):
        return ""
    bad = "nan" if np.any(np.isnan(array)) else "inf"
    if array.size == 1:
        return f"the result is {bad}"
    return f"{bad} in the result {show(array)}"


@dataclass(frozen=True, eq=False)
class Shapes:
    """Shapes a document states ("m" for the batch size) against the shapes the model computes."""

    stated: tuple[tuple[str, tuple], ...]
    actual: Callable[[], dict[str, tuple[int, ...]]]
    m: int

    def __call__(self) -> Outcome:
        got = self.actual()
        wrong = []
        for name, shape in self.stated:
            want = tuple(self.m if d == "m" else d for d in shape)
            if got[name] != want:
                wrong.append(
                    f"{name}: stated {_shape(shape)}, computed {_shape(got[name], self.m)}"
                )
        n = len(self.stated)
        checked = f"{n} shape{'s' if n > 1 else ''} checked (m = {self.m})"
        if wrong:
            return Outcome("wrong", "; ".join(wrong), checked)
        return Outcome("correct", "", checked + ", all as stated")


@dataclass(frozen=True, eq=False)
class Returned:
    """The quantities a text says a function returns (`stated`), against what its code returns.

    `code` defines the function, `call` calls it; each returned value is named by the quantity of
    `namespace()`, among `candidates`, that it equals (up to rounding). The verdict compares the two
    lists of names as multisets (a name said twice, a returned quantity never said).
    """

    stated: tuple[str, ...]
    code: str
    call: str
    namespace: Callable[[], Namespace]
    candidates: tuple[str, ...]
    prelude: str = ""

    def __call__(self) -> Outcome:
        ns = self.namespace()
        try:
            execute(self.prelude, ns, "helpers")
            returned = evaluate(self.code, self.call, ns)
        except Exception as error:
            return Outcome("not executable", "the code raises", exception_text(error))
        tol = tolerance(np.float64, "formulations")  # the code's own softmax rounds otherwise
        names = [
            next(
                (
                    c
                    for c in self.candidates
                    if np.shape(v) == np.shape(ns[c]) and close(v, ns[c], tol)
                ),
                "a quantity of none of these names",
            )
            for v in returned
        ]
        evidence = f"the code returns {', '.join(names)}"
        said, got = sorted(self.stated), sorted(names)
        if said == got:
            return Outcome("correct", "", evidence, {"returned": names})
        twice = sorted({n for n in said if said.count(n) > got.count(n)})
        unsaid = sorted({n for n in got if got.count(n) > said.count(n)})
        parts = [f"the text names {', '.join(self.stated)}"]
        parts += [f"{', '.join(twice)} named more often than returned"] if twice else []
        parts += [f"{', '.join(unsaid)} returned but never named"] if unsaid else []
        return Outcome("wrong", "; ".join(parts), evidence, {"returned": names})


@dataclass(frozen=True, eq=False)
class Statement:
    """A sentence's parts (label, check), e.g. its reason and its conclusion, each run.

    The verdict is the worst part's ("not executable", then "wrong", then "inconclusive"); the
    diagnosis gives every part's verdict, so a right conclusion reached by a wrong reason reads so.
    """

    parts: tuple[tuple[str, Check], ...]

    @property
    def code(self) -> str:
        """The as-written code the parts run (those that run code)."""
        return "\n".join(c.code for _, c in self.parts if isinstance(getattr(c, "code", None), str))

    def __call__(self) -> Outcome:
        outcomes = [(label, check()) for label, check in self.parts]
        verdicts = {o.verdict for _, o in outcomes}
        verdict = next(
            (v for v in ("not executable", "wrong", "inconclusive") if v in verdicts), "correct"
        )
        diagnosis = "; ".join(
            f"{label}: {o.verdict}" + (f" ({o.diagnosis})" if o.diagnosis else "")
            for label, o in outcomes
        )
        evidence = "; ".join(o.evidence for _, o in outcomes if o.evidence)
        measured = {label: o.measured for label, o in outcomes}
        return Outcome(verdict, diagnosis if verdict != "correct" else "", evidence, measured)


def _shape(shape: tuple, m: int | None = None) -> str:
    """A shape as "10×784", with the batch size shown as m ("10×m")."""
    return "×".join("m" if d == m or d == "m" else str(d) for d in shape)
