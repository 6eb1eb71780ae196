"""`handgrad audit`: every document covered, every verdict computed, the errata sheet up to date.

The registry carries no verdicts; the expectations live here only. The audit runs once per module
(about 15 s on 2 cores); the other tests reuse its results.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from handgrad.audit import checks, run
from handgrad.audit.checks import Gradient
from handgrad.audit.registry import Entry
from handgrad.cli import main

ERRATA = Path(__file__).resolve().parents[1] / "docs" / "ERRATA.md"

# Every formula, equation and code line of each document that states a forward step, a loss, a
# derivative or an update (and its worked examples and hazards), by entry id.
EXPECTED_IDS = {
    "000": [
        "000.forward.neuron",  # a_n^L = σ(Σ_i w_in a_i + b_n)
        "000.forward.matrix",
        "000.forward.batch",  # a^L = σ(a^(L-1) w^L + b^L), rows = examples
        "000.loss.mse",
        "000.chain.dw",  # f
        "000.chain.dw-result",  # g
        "000.chain.db",  # i
        "000.chain.db-result",  # j
        "000.chain.da",  # k
        "000.chain.da-result",  # l
        "000.chain.dw-prev",  # m
        "000.chain.db-prev",  # n
        "000.matrix.dw",  # o
        "000.matrix.db",  # p
        "000.matrix.da",  # q
        "000.hazard.bias-broadcast",
    ],
    "001": [
        "001.math.cost",
        "001.math.activation",
        "001.math.z",
        "001.chain.dw",
        "001.chain.dC_da",
        "001.chain.da_dz",
        "001.chain.dz_dw",
        "001.chain.dw-result",
        "001.chain.db",
        "001.chain.dz_db",
        "001.chain.db-result",
        "001.chain.da",
        "001.chain.dz_da",
        "001.chain.da-result",
        "001.chain.all-layers",
        "001.update.nabla",
        "001.update.average",
        "001.net.cost",
        "001.net.dw_jk",
        "001.net.da_k",
    ],
    "002": [
        "002.math.Z1",
        "002.math.A1",
        "002.math.Z2",
        "002.math.A2",
        "002.math.softmax-in-words",
        "002.math.X-examples",  # X = [x^(1) ... x^(n)], n the features
        "002.math.w-index",  # w_{i,j}, i in the previous layer, is entry (j, i) of W
        "002.math.b-shape",  # b^[l]: n^[1] x 1, "call these matrices b^[1]"
        "002.math.shapes",
        "002.math.J",
        "002.example.yhat",
        "002.example.one-hot",
        "002.example.J-label",
        "002.example.J-value",
        "002.math.loss-in-words",
        "002.math.update-dJ",
        "002.math.dA2",
        "002.math.db1-index",
        "002.math.dW2",
        "002.math.dB2",
        "002.math.dB-name",
        "002.math.dZ1",
        "002.math.relu-prime",
        "002.math.dW1",
        "002.math.dB1",
        "002.math.update",
        "002.recap.dZ2",
        "002.recap.dW1",
        "002.notes.dZ1",
        "002.notes.shapes-forward",
        "002.notes.shapes-backprop",
        # the code: every function, and every line of backward_prop
        "002.code.init_params",
        "002.code.forward_prop",
        "002.code.forward_prop-returns",  # "also Z1, A2, and Z2"
        "002.code.ReLU",
        "002.code.softmax",
        "002.code.m",
        "002.code.one_hot_Y",
        "002.code.dZ2",
        "002.code.dW2",
        "002.code.db2",
        "002.code.dZ1",
        "002.code.dW1",
        "002.code.db1",
        "002.code.ReLU_deriv",
        "002.code.one_hot",
        "002.code.update_params",
        "002.code.get_predictions",
        "002.code.get_accuracy",
        "002.hazard.softmax-overflow",
        "002.hazard.one-hot-width",
        "002.hazard.log0",
    ],
    "003": [
        "003.data.X-examples",  # X = [x^(1) ... x^(n)]^T, then A^[0] = X is 784 x m
        "003.forward.A0",
        "003.forward.Z1",
        "003.forward.A1",
        "003.forward.Z2",
        "003.forward.A2",
        "003.forward.softmax-formula",
        "003.example.softmax",
        "003.backprop.dz2",
        "003.backprop.dz2-in-words",  # "subtract the actual errors (y)"
        "003.backprop.dw2",
        "003.backprop.db2",
        "003.backprop.db2-in-words",
        "003.backprop.dz1",
        "003.backprop.dw1",
        "003.backprop.db1",
        "003.update",
        "003.hazard.softmax-overflow",
    ],
    "004": [
        "004.forward.in-words",  # "during forward propagation, the neural network ... learns"
        "004.forward.Z1",
        "004.forward.A1",
        "004.forward.Z2",
        "004.forward.A2",
        "004.backprop.dZ2",
        "004.backprop.dW2",
        "004.backprop.db2",
        "004.backprop.db2-in-words",
        "004.backprop.dZ1",
        "004.backprop.dW1",
        "004.backprop.db1",
        "004.update",
        "004.update.in-words",  # "the algorithm updates a hyperparameter α"
        "004.hazard.star-square-batch",
    ],
}

# Formulas that are right as written: none may be reported wrong.
KNOWN_CORRECT = [
    "000.forward.neuron",
    "000.forward.matrix",
    "000.forward.batch",
    "000.loss.mse",
    "000.chain.dw",
    "000.chain.db",
    "000.chain.da",
    "000.chain.dw-prev",
    "000.chain.db-prev",
    "001.math.cost",
    "001.math.activation",
    "001.math.z",
    "001.chain.dw",
    "001.chain.dC_da",
    "001.chain.da_dz",
    "001.chain.db",
    "001.chain.dz_db",
    "001.chain.db-result",
    "001.chain.da",
    "001.chain.dz_da",
    "001.chain.da-result",
    "001.chain.all-layers",
    "001.update.nabla",
    "001.update.average",
    "001.net.dw_jk",
    "002.math.Z1",
    "002.math.A1",
    "002.math.Z2",
    "002.math.A2",
    "002.math.shapes",
    "002.math.J",
    "002.example.yhat",
    "002.example.one-hot",
    "002.math.update-dJ",
    "002.math.dW2",
    "002.math.dB2",
    "002.math.dZ1",
    "002.math.relu-prime",
    "002.math.dW1",
    "002.math.dB1",
    "002.math.update",
    "002.recap.dZ2",
    "002.recap.dW1",
    "002.notes.dZ1",
    "002.notes.shapes-forward",
    "002.code.init_params",
    "002.code.ReLU",
    "002.code.softmax",
    "002.code.one_hot_Y",
    "002.code.dZ2",
    "002.code.dW2",
    "002.code.dZ1",
    "002.code.dW1",
    "002.code.ReLU_deriv",
    "002.code.update_params",
    "002.code.get_predictions",
    "003.forward.A0",
    "003.forward.Z1",
    "003.forward.A1",
    "003.forward.Z2",
    "003.forward.A2",
    "003.forward.softmax-formula",
    "003.example.softmax",
    "003.backprop.dz2",
    "003.backprop.db2",
    "003.backprop.dz1",
    "003.backprop.dw1",
    "003.backprop.db1",
    "003.update",
    "004.forward.Z1",
    "004.forward.A1",
    "004.forward.Z2",
    "004.forward.A2",
    "004.backprop.dZ2",
    "004.backprop.dW2",
    "004.backprop.db2",
    "004.backprop.dW1",
    "004.backprop.db1",
    "004.update",
]

# The errata, with the verdict and (for gradients) the checker's diagnosis they must get.
KNOWN_ERRATA = {
    "000.chain.dw-result": ("wrong", "scale (factor -0.5)"),
    "000.chain.db-result": ("wrong", "scale (factor -0.5)"),
    "000.chain.da-result": ("wrong", "W1, b1: scale (factor -0.5)"),
    "000.matrix.dw": ("wrong", "scale (factor -8)"),
    "000.matrix.db": ("wrong", "shape (16, 10)"),
    "000.matrix.da": ("wrong", "W1, b1: scale (factor -8)"),
    "001.chain.dz_dw": ("wrong", "W3: A3 used in dW3 where A2 belongs"),
    "001.chain.dw-result": ("wrong", "W3: A3 used in dW3 where A2 belongs"),
    "001.net.cost": ("not executable", ""),
    "001.net.da_k": ("wrong", "defines dC_da3 where dC_da2 belongs: dC_da2 is never computed"),
    "002.math.softmax-in-words": ("wrong", "the conclusion, A^{[2]} is 10 × m: correct"),
    "002.example.J-label": ("wrong", "0.223"),
    "002.example.J-value": ("wrong", "0.223"),
    "002.math.loss-in-words": ("wrong", "-0.223"),
    "002.math.dA2": ("wrong", "sign"),
    "002.math.db1-index": ("wrong", "b1: it equals the right db2: db2 where db1 belongs"),
    "002.math.dB-name": ("wrong", "notation: db1 is used, but the quantity is defined as dB1"),
    "002.math.X-examples": ("wrong", "(n = 784): stated 784×784, computed m×784"),
    "002.math.w-index": ("wrong", "row i (the previous layer's 784 nodes): stated 784×10"),
    "002.math.b-shape": ("wrong", "b^{[2]}: stated 20×1, computed 10×1"),
    "002.notes.shapes-backprop": ("wrong", "dW1: stated 10×10, computed 10×784"),
    "002.code.forward_prop": ("not executable", ""),
    "002.code.forward_prop-returns": ("wrong", "A1 returned but never named"),
    "002.code.get_accuracy": ("not executable", ""),
    "002.code.m": ("not executable", ""),
    "002.code.db2": ("wrong", "wrong-axis"),
    "002.code.db1": ("wrong", "wrong-axis"),
    "002.code.one_hot": ("not executable", ""),
    "003.data.X-examples": ("wrong", "(n = 784, as in 002): stated 784×784, computed m×784"),
    "003.backprop.dw2": ("wrong", "shape (10, 784), expected (10, 10)"),
    "003.backprop.dz2-in-words": ("wrong", "y as 'the actual errors'"),
    "003.backprop.db2-in-words": ("wrong", "the absolute value throws away the sign"),
    "004.backprop.db2-in-words": ("wrong", "the absolute value throws away the sign"),
    "004.backprop.dZ1": ("wrong", "dZ1 is used on the right of its own definition"),
    "004.update.in-words": ("wrong", "the rule changes W1, b1, W2, b2; alpha stays as it is"),
    "004.forward.in-words": ("wrong", "forward propagation changes nothing"),
}

EXCEPTIONS = {
    "001.net.cost": "SyntaxError",
    "001.net.da_k": "NameError: name 'dC_da2'",
    "002.math.dB-name": "NameError: name 'db1'",
    "002.code.forward_prop": "SyntaxError",
    "002.code.get_accuracy": "IndentationError: expected an indented block",
    "002.code.m": "NameError: name 'm'",
    "002.code.one_hot": "SyntaxError: 'return' outside function",
    "004.backprop.dZ1": "NameError: name 'dZ1'",
}


@pytest.fixture(scope="module")
def results() -> dict[str, run.Result]:
    return {r.entry.id: r for r in run.audit()}


def entry(entry_id: str) -> Entry:
    (found,) = [e for e in run.registry() if e.id == entry_id]
    return found


def test_all_five_documents_have_their_expected_entries():
    ids = [e.id for e in run.registry()]
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    assert {e.document for e in run.registry()} == {"000", "001", "002", "003", "004"}
    for document, expected in EXPECTED_IDS.items():
        mine = {e.id for e in run.registry([document])}
        assert set(expected) <= mine, f"{document} lacks {sorted(set(expected) - mine)}"


def test_entries_carry_no_verdicts():
    names = {f.name for f in dataclasses.fields(Entry)}
    assert not names & {"verdict", "expected", "diagnosis"}


def test_no_correct_formula_is_reported_wrong(results):
    wrong = {i: results[i].verdict for i in KNOWN_CORRECT if results[i].verdict != "correct"}
    assert not wrong, {i: results[i].outcome for i in wrong}


def test_the_errata_are_found_with_the_checkers_diagnosis(results):
    for entry_id, (verdict, diagnosis) in KNOWN_ERRATA.items():
        outcome = results[entry_id].outcome
        assert outcome.verdict == verdict, (entry_id, outcome)
        assert diagnosis in outcome.diagnosis + outcome.evidence, (entry_id, outcome)
    errata = {i for i, r in results.items() if r.verdict in ("wrong", "not executable")}
    assert errata == set(KNOWN_ERRATA)
    assert all(r.verdict != "inconclusive" for r in results.values())


def test_an_unsummed_bias_gradient_is_told_as_such(results):
    # 000 prints (y - a_L) σ'(z_L) as the bias gradient: the delta itself, one entry per unit and
    # example, never summed (over the units or anything else); the checker's diagnosis says so.
    diagnosis = results["000.matrix.db"].outcome.diagnosis
    assert "not summed over the batch" in diagnosis, diagnosis
    assert "summed over the units" not in diagnosis, diagnosis


def test_not_executable_evidence_is_the_exception_raised(results):
    for entry_id, text in EXCEPTIONS.items():
        assert results[entry_id].outcome.evidence.startswith(text), results[entry_id].outcome


def test_a_formula_using_a_quantity_before_it_exists_is_wrong_not_unexecutable(results):
    # 004's dZ^1 = W^2.T * dZ^1 * g'() and 001's ∂C/∂a_k^(L) (for a_k^(L-1)) raise a NameError for
    # a quantity of the backward pass: the formula is wrong, and the summary counts it so; a name
    # the backward pass never computes (002's m, a missing line) stays not executable.
    counts = run.summary(list(results.values()))
    assert "not executable" not in counts["004"], counts["004"]
    for entry_id in ("004.backprop.dZ1", "001.net.da_k"):
        outcome = results[entry_id].outcome
        assert outcome.verdict == "wrong" and "NameError" not in outcome.diagnosis, outcome
        assert outcome.evidence.startswith("NameError"), outcome
    printed = dict(results["004.backprop.dZ1"].readings)
    assert results["004.backprop.dZ1"].corrected.verdict == "correct"
    assert printed["dZ^2, W^2.T dZ^2 a matrix product, g' at Z^1"].verdict == "correct"
    assert results["002.code.m"].verdict == "not executable"


def test_a_right_conclusion_from_a_wrong_reason_says_which_part_is_wrong(results):
    # 002: "Softmax runs element-wise, so the dimensions of Z^[2] are preserved at 10 × m": the
    # conclusion holds, the reason does not (softmax normalises over each column's classes).
    outcome = results["002.math.softmax-in-words"].outcome
    reason, conclusion = outcome.diagnosis.split("; ")
    assert reason.startswith("the reason, 'element-wise'") and ": wrong (" in reason, outcome
    assert conclusion == "the conclusion, A^{[2]} is 10 × m: correct", outcome
    assert "right conclusion, wrong reason" in results["002.math.softmax-in-words"].entry.corrected


def test_every_corrected_form_is_checked_right(results):
    with_corrections = [r for r in results.values() if r.entry.corrected_check is not None]
    assert len(with_corrections) >= 20
    for r in with_corrections:
        want = "safe" if r.entry.kind == "hazard" else "correct"
        assert r.corrected.verdict == want, (r.entry.id, r.corrected)
    for r in results.values():
        if r.verdict in ("wrong", "not executable"):
            assert r.entry.corrected, f"{r.entry.id} is wrong but says nothing about the fix"


def test_hazards_are_demonstrated_and_their_fixes_safe(results):
    hazards = {i: r for i, r in results.items() if r.entry.kind == "hazard"}
    assert set(hazards) == {
        "000.hazard.bias-broadcast",
        "002.hazard.softmax-overflow",
        "002.hazard.one-hot-width",
        "002.hazard.log0",
        "003.hazard.softmax-overflow",
        "004.hazard.star-square-batch",
    }
    assert all(r.verdict == "hazard" for r in hazards.values())
    assert "overflow encountered in exp" in hazards["002.hazard.softmax-overflow"].outcome.evidence
    assert "(10,16) (9,16)" in hazards["002.hazard.one-hot-width"].outcome.evidence
    assert "nan" in hazards["002.hazard.log0"].outcome.evidence


def test_a_hazard_shows_only_what_the_document_writes_in_its_formula_column(results):
    # 000 writes no update rule: its bias-broadcast hazard quotes 000's bias gradient, and the
    # update it is used in is named as the hazard's input, in the sheet's row as well
    hazard = results["000.hazard.bias-broadcast"]
    assert hazard.entry.formula == results["000.matrix.db"].entry.formula
    assert "writes no update rule" in hazard.outcome.diagnosis
    (row,) = [line for line in run.render_markdown([hazard]).splitlines() if "| 000.hazard" in line]
    assert "| hazard | on a batch of m = 16 rows, used in the plain step" in row, row


def test_each_reading_of_ambiguous_text_is_run(results):
    readings = {i: dict(r.readings) for i, r in results.items()}
    assert readings["002.math.dZ1"]["· a matrix product"].verdict == "not executable"
    assert readings["003.backprop.dz1"]["z = z^{[2]}, the output layer's"].verdict == "wrong"
    assert (
        readings["003.backprop.dz1"]["z = z^{[2]}, the output layer's"].diagnosis
        == "W1, b1: g'(Z2) used where g'(Z1) belongs"
    )
    star = readings["004.backprop.dW2"]["`*` as NumPy's element-wise product"]
    assert star.verdict == "not executable" and star.evidence.startswith("ValueError")
    log10 = readings["002.example.J-value"]
    assert log10["log = log10: the number"].verdict == "correct"
    assert (
        "factor 2.3" in log10["log = log10, with the document's dZ^{[2]} = A^{[2]} - Y"].diagnosis
    )
    for r in results.values():
        if r.entry.ambiguous:
            labels = {r.entry.reading, "the corrected form", *dict(r.readings)}
            assert r.entry.intended in labels and r.entry.why, r.entry.id


def test_a_correct_row_carries_no_correction(results):
    # 002's J = -Σ_{i=0}^{c} y_i log ŷ_i is correct read with c = 9 (c is never defined): the row
    # says so in its reading, and offers no "corrected form" that would contradict its verdict
    for r in results.values():
        if r.verdict == "correct":
            assert not r.entry.corrected, (r.entry.id, r.entry.corrected)
    j = results["002.math.J"]
    assert j.verdict == "correct" and "never defines c" in j.entry.why
    assert "one term too many" in j.entry.why
    assert dict(j.readings)["c = 10, the number of classes"].verdict == "not executable"


def test_000s_mse_is_read_with_m_the_examples_and_the_other_readings_run(results):
    # 000 prints MSE = 1/m Σ_i^m (y - a^L)^2, after using m for the width of layer L-1: only m the
    # number of examples, with ||y_i - a_i^L||^2 summed over the outputs, is the model's loss
    mse = results["000.loss.mse"]
    assert mse.verdict == "correct" and mse.entry.ambiguous
    assert "||y_i - a_i^L||^2" in mse.entry.reading and "width of layer L-1" in mse.entry.why
    readings = dict(mse.readings)
    printed = readings[
        "as printed: no i in the summand, so Σ_i^m adds m copies of (y - a^L)^2 (an array)"
    ]
    assert printed.verdict == "wrong" and "shape (16, 10)" in printed.diagnosis, printed
    width = readings["m as in 000's forward formulas: the width of layer L-1 (30 here)"]
    assert width.verdict == "wrong", width


def test_a_known_bug_that_reproduces_a_gradient_is_named_not_unexplained(results):
    # the checker calls 001's a^(L) for a^(L-1) a "known-bug" and names the bug that gives it
    # exactly: the sheet says that bug alone
    outcomes = [o for r in results.values() for o in (r.outcome, *dict(r.readings).values())]
    for o in outcomes:
        if "unexplained" in o.diagnosis:
            assert "matches" not in o.diagnosis and "equals the right" not in o.diagnosis, o
    assert results["001.chain.dz_dw"].outcome.diagnosis == "W3: A3 used in dW3 where A2 belongs"
    # the checker's hint, worded either way, reads the same on the sheet
    for hint in ("no simple pattern fits, but it matches", "it matches"):
        detail = f"{hint} the gradient with A3 used in dW3 where A2 belongs"
        assert checks._plain("W3", "known-bug", detail) == ("A3 used in dW3 where A2 belongs", "")
    for detail in (
        "no simple pattern fits, but it equals the right db2 (off by a layer?)",
        "it equals the right db2 (off by a layer?)",
    ):
        kind, _ = checks._plain("b1", "known-bug", detail)
        assert kind == "it equals the right db2: db2 where db1 belongs"
    assert checks._plain("b2", "unexplained", "no simple pattern fits") == (
        "unexplained",
        "no simple pattern fits",
    )


def test_a_name_differing_only_in_case_is_a_slip_of_notation_not_unexecutable(results):
    # 002 defines dB^[l] and updates with db^[l]: one quantity, two names; the NameError is the
    # evidence. A name defined nowhere (002's m) stays not executable.
    outcome = results["002.math.dB-name"].outcome
    assert outcome.verdict == "wrong" and outcome.diagnosis.startswith("notation: db1"), outcome
    assert outcome.evidence.startswith("NameError: name 'db1'"), outcome
    assert results["002.code.m"].verdict == "not executable"
    ns = {"dB1": 1.0}
    assert checks.misnamed(NameError("x", name="db1"), ns).startswith("notation: db1")
    assert checks.misnamed(NameError("x", name="m"), ns) == ""


def test_the_corrections_say_what_the_error_is(results):
    def corrected(entry_id: str) -> str:
        return results[entry_id].entry.corrected

    # where the text was most likely garbled by the page's extraction, the row says so
    for entry_id in ("002.code.forward_prop", "002.code.one_hot", "002.code.get_accuracy"):
        assert "artifact of how the page was extracted" in corrected(entry_id), entry_id
    assert "for one example's J" in corrected("002.math.dA2")
    assert "input a^{(L-1)}, not of its output a^{(L)}" in corrected("001.chain.dz_dw")
    for entry_id in ("003.backprop.db2-in-words", "004.backprop.db2-in-words"):
        assert "throws away the sign" in results[entry_id].outcome.diagnosis
    # 002's bias rule n^[1] x 1 is shown wrong where n^[1] != n^[2]; on 002's own 784-10-10 it
    # would pass, which the correction says
    assert "only because 002's n^{[1]} = n^{[2]} = 10" in corrected("002.math.b-shape")
    assert "784-20-10" in results["002.math.b-shape"].entry.model
    returns = results["002.code.forward_prop-returns"]
    assert returns.outcome.evidence == "the code returns Z1, A1, Z2, A2"
    assert returns.corrected.verdict == "correct"


@pytest.mark.parametrize("entry_id", ["002.code.db2", "003.backprop.dw2", "004.backprop.dZ1"])
def test_mutating_an_entry_into_its_corrected_form_changes_its_verdict(entry_id):
    checks._GRADIENT_OUTCOMES.clear()  # run, not recall
    e = entry(entry_id)
    assert run.run_entry(e).verdict in ("wrong", "not executable")
    assert e.corrected_check.backward is e.check.backward  # same backward pass, one line changed
    assert e.corrected_check.code != e.check.code
    mutated = dataclasses.replace(e, check=e.corrected_check)
    assert run.run_entry(mutated).verdict == "correct"


def test_a_broken_correct_formula_turns_wrong():
    e = entry("002.code.dW2")
    broken = dataclasses.replace(
        e, check=Gradient(e.check.backward, (("dW2", "dW2 = 1 / m * dZ2.dot(A1.T).T"),))
    )
    assert run.run_entry(broken).verdict == "wrong"


def test_errata_sheet_is_up_to_date(results):
    fresh = run.render_markdown(list(results.values()))
    assert ERRATA.is_file(), "generate it: handgrad audit --write docs/ERRATA.md"
    assert ERRATA.read_text(encoding="utf-8") == fresh, (
        "docs/ERRATA.md is stale: regenerate it with `handgrad audit --write docs/ERRATA.md`"
    )


def test_cli_prints_json_for_one_document(results, capsys):
    assert main(["audit", "--document", "003", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    entries = out["documents"]["003"]["entries"]
    assert [e["id"] for e in entries] == EXPECTED_IDS["003"]
    dw2 = next(e for e in entries if e["id"] == "003.backprop.dw2")
    assert dw2["verdict"] == "wrong" and dw2["corrected_outcome"]["verdict"] == "correct"
    assert dw2["as_written"] == "dw2 = 1 / m * dz2 @ A0.T"


@pytest.mark.parametrize("document", ["3", "03", "003"])
def test_cli_takes_a_document_by_its_number_and_heads_the_sheet_by_it(results, document, capsys):
    assert main(["audit", "--document", document]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Errata for document 003: MNIST Neural Network"), out[:200]
    assert "the five source documents" not in out and "## 003:" in out and "## 002:" not in out
    assert "Generated by `handgrad audit --document 003`" in out


def test_cli_prints_tables_and_rejects_unknown_documents(results, capsys):
    assert main(["audit", "--document", "004"]) == 0
    out = capsys.readouterr().out
    assert "| 004.backprop.dZ1 |" in out and "NameError" in out
    assert main(["audit", "--document", "009"]) == 2
    assert "unknown document '009'" in capsys.readouterr().err
    assert main(["audit", "--document", "5"]) == 2
    assert (
        "unknown document '5'; expected one of 000, 001, 002, 003, 004" in capsys.readouterr().err
    )


def _no_audit(documents):
    raise AssertionError("the audit ran before --write was refused")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("params.npz", b"PK\x03\x04 a trained model"),
        ("notes.md", b"# Errata for my notes\n\nwritten by hand\n"),  # a title alone is not enough
        ("empty.md", b""),
    ],
)
def test_cli_write_refuses_a_file_it_did_not_write(name, content, tmp_path, capsys, monkeypatch):
    target = tmp_path / name
    target.write_bytes(content)
    monkeypatch.setattr(run, "timed_audit", _no_audit)  # refused first, not after 15 s of audit
    assert main(["audit", "--document", "002", "--write", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"--write {target}: exists and is not an errata sheet" in err and "--force" in err
    assert target.read_bytes() == content and sorted(tmp_path.iterdir()) == [target]


def test_cli_write_replaces_its_own_sheet_and_with_force_any_file(results, tmp_path, capsys):
    assert run.is_errata_sheet(ERRATA)  # `handgrad audit --write docs/ERRATA.md` keeps working
    sheet = tmp_path / "ERRATA.md"
    sheet.write_text(ERRATA.read_text(encoding="utf-8") + "\nstale\n", encoding="utf-8")
    model = tmp_path / "params.npz"
    model.write_bytes(b"PK\x03\x04 a trained model")
    fresh = run.render_markdown([r for r in results.values() if r.entry.document == "002"])
    for target, force in ((sheet, []), (model, ["--force"])):
        assert main(["audit", "--document", "002", "--write", str(target), *force]) == 0
        assert target.read_text(encoding="utf-8") == fresh and run.is_errata_sheet(target)
        assert f"wrote {target}" in capsys.readouterr().out


def test_cli_write_that_fails_leaves_the_old_sheet_whole(tmp_path, capsys, monkeypatch):
    sheet = tmp_path / "ERRATA.md"
    old = ERRATA.read_bytes()
    sheet.write_bytes(old)
    monkeypatch.setattr(run, "timed_audit", lambda documents: ([], 0.0))

    def full_disk(results):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run, "render_markdown", full_disk)
    assert main(["audit", "--document", "002", "--write", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"handgrad audit: error: {sheet}: no space left on device", err
    assert sheet.read_bytes() == old and sorted(tmp_path.iterdir()) == [sheet]  # no temporary left
