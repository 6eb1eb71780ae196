"""Writes the notebooks in this directory from the cells below, without outputs.

    python notebooks/_build.py           # (re)write every notebook
    python notebooks/_build.py --check   # exit 1 if a committed notebook differs from this script

The .ipynb files are committed; `tests/test_notebooks.py` checks that they match this script and
hold no outputs, and pytest's nbmake plugin runs them top to bottom. Edit the cells here, not in
Jupyter. Each notebook imports handgrad for the math; the code cells only mirror the equations
with handgrad's activations and losses and check every number against the oracles in `reference/`.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def md(text: str) -> tuple[str, str]:
    """A markdown cell."""
    return ("markdown", textwrap.dedent(text).strip())


def code(text: str) -> tuple[str, str]:
    """A code cell."""
    return ("code", textwrap.dedent(text).strip())


# --- shared by notebooks 1-3: the two independent checks --------------------------------------

CHECKS_INTRO = md(
    """
    Two small helpers, used only to *verify*: `oracles(f, at)` asks JAX (`jax.grad`) and finite
    differences (`reference.central_differences`: nudge each entry by a tiny step and watch `f`
    move) for the derivative of `f` at `at`; `check` compares our number with both and stops the
    notebook with an `AssertionError` if either disagrees. The tolerances come from handgrad's one
    tolerance table, printed below: a check passes when the largest error is at most
    atol + rtol × the largest entry, so the relative errors it prints pass up to about rtol
    (1e-10 against JAX, 1e-05 against finite differences, whose step leaves its own error).
    """
)

CHECKS = code(
    '''
    def oracles(f, at):
        """The derivative of f at `at`, by jax.grad and by central differences."""
        at = np.asarray(at, np.float64)
        autodiff = np.asarray(jax.grad(f)(at))
        f = jax.jit(f)  # compiled once: finite differences call it twice per entry
        differences = reference.central_differences(lambda q: float(f(q["x"])), {"x": at})
        return autodiff, differences.estimate["x"]


    def check(name, mine, autodiff, differences):
        """Assert that `mine` matches both oracles (NaN in `differences`: an entry not sampled)."""
        mine = np.asarray(mine, np.float64)
        if np.size(autodiff) == 1:  # one number, a scalar or a 1 x 1 array: compared as a scalar
            mine, autodiff, differences = (np.reshape(v, ()) for v in (mine, autodiff, differences))
        mine = np.broadcast_to(mine, np.shape(autodiff))
        sampled = ~np.isnan(differences)
        scale = float(np.max(np.abs(autodiff)))  # errors relative to the largest entry
        error_jax = relative_error(mine, autodiff)
        error_fd = relative_error(mine[sampled], differences[sampled], scale)
        print(
            f"{name:<22} {mine.shape!s:>9}   rel. error vs JAX {error_jax:.0e}, "
            f"vs finite differences {error_fd:.0e}"
        )
        assert close(mine, autodiff, tolerance("float64", "autodiff")), f"{name}: JAX disagrees"
        fd_tolerance = tolerance("float64", "finite-difference")
        assert close(mine[sampled], differences[sampled], fd_tolerance, scale), f"{name}: FD disagree"


    for comparison in ("autodiff", "finite-difference"):
        bound = tolerance("float64", comparison)
        print(f"float64 vs {comparison:<17}: rtol {bound.rtol:.0e}, atol {bound.atol:.0e}")
    '''
)


def oracle_cells(
    model: str, activation: str, output_cost: str, formula: str, batch_size: str
) -> list:
    """The cost as a function of an intermediate quantity, for the intermediate checks."""
    hidden, output, layout = model.split("-")
    return [
        md(
            """
            The oracle, `reference.loss_fn`, is the network's cost written in plain `jax.numpy`,
            independently of handgrad. For the derivative with respect to an intermediate quantity
            (the activations or pre-activations of layer $l$) we feed that quantity into the layers
            above $l$, and differentiate the cost with respect to it.
            """
        ),
        code(
            f'''
            oracle = reference.loss_fn("{hidden}", "{output}", "{layout}")  # cost(params, X, Y)


            def above(params, l):
                """The layers above l, renumbered from 1: the network from layer l's output to the cost."""
                L = len(params) // 2
                return {{f"{{p}}{{k - l}}": params[f"{{p}}{{k}}"] for k in range(l + 1, L + 1) for p in "Wb"}}


            def cost_of_a(params, Y, l):
                """The cost as a function of the activations of layer l, all else fixed."""
                L, m = len(params) // 2, {batch_size}
                if l == L:  # {formula}
                    return lambda A: {output_cost}
                return lambda A: oracle(above(params, l), A, Y)


            def cost_of_z(params, Y, l):
                """The cost as a function of the pre-activations of layer l, all else fixed."""
                L = len(params) // 2
                return lambda Z: oracle(above(params, l), Z if l == L else {activation}(Z), Y)
            '''
        ),
    ]


def formulations_cells(model_words: str) -> list:
    """The closing section: the three formulations agree with each other and with JAX."""
    return [
        md(
            f"""
            ## Three formulations, one gradient

            handgrad derives the gradient three ways: per neuron (notebook 1, document 001), with
            row-major batches (notebook 2, document 000) and with column-major batches (notebook 3,
            document 002). `handgrad.gradients(model, params, X, Y, formulation)` runs any of them on
            any model, transposing where the layouts differ. On {model_words} they agree with each
            other to rounding error, and with JAX:
            """
        ),
        code(
            """
            by_formulation = {
                name: handgrad.gradients(model, params, X, Y, name) for name in handgrad.FORMULATIONS
            }
            for name, grads in by_formulation.items():
                for key in params:
                    same = by_formulation["per-neuron"][key]
                    assert close(grads[key], same, tolerance("float64", "formulations")), (name, key)
                    assert close(grads[key], jax_grads[key], tolerance("float64", "autodiff")), (name, key)
                worst = max(relative_error(grads[key], jax_grads[key]) for key in params)
                print(f"{name:<11} largest rel. error vs JAX over {', '.join(params)}: {worst:.0e}")
            """
        ),
    ]


IMPORTS = """
    import jax
    import jax.numpy as jnp
    import numpy as np

    import handgrad
    import reference
    from handgrad import data
    from handgrad.losses import mse_dC_dA
    from handgrad.tolerances import close, relative_error, tolerance
    """

# --- 1: the per-neuron chain rule (document 001) ------------------------------------------------

PER_NEURON = [
    md(
        r"""
        # 1 · The chain rule, one neuron at a time

        This notebook derives backpropagation the way document 001 does (*Neural Network
        Backpropogation*, MATH 3480, Dr. Michael Olson): with the chain rule, one neuron at a time.
        First a chain of single neurons, then layers with several neurons.

        Each equation is written in 001's notation and followed by the code that computes it. Every
        number is checked two independent ways, against **JAX autodiff** and against **finite
        differences**. A check that fails stops the notebook.

        **Notation (001).** Layer numbers are superscripts in parentheses: $a^{(L)}$ is the output
        layer's activation, $a^{(L-1)}$ the one before. $z^{(L)} = w^{(L)} a^{(L-1)} + b^{(L)}$ is
        the pre-activation, $a^{(L)} = \sigma(z^{(L)})$ the activation, $\sigma$ the sigmoid and
        $C$ the cost. With many neurons, $j$ numbers the units of layer $L$, $k$ those of layer
        $L-1$, and the weight $w_{jk}^{(L)}$ joins unit $k$ to unit $j$: in handgrad's column layout
        that is the matrix entry `W[j, k]`.
        """
    ),
    code(IMPORTS),
    CHECKS_INTRO,
    CHECKS,
    *oracle_cells(
        "sigmoid-mse-column",
        "jax.nn.sigmoid",
        "jnp.sum((A - Y) ** 2) / m",
        "C = (1/m) Σ over the examples and units of (a - y)^2",
        "Y.shape[1]",
    ),
    md(
        r"""
        ## 1. A chain of single neurons

        001: *"We have 4 layers with a depth of 1 each."* An input neuron and three layers of one
        neuron each, so $L = 3$. One training example: the input $x = a^{(0)}$ and the target $y$.

        $$z^{(l)} = w^{(l)} a^{(l-1)} + b^{(l)}, \qquad a^{(l)} = \sigma(z^{(l)}), \qquad
        C = (a^{(L)} - y)^2$$

        handgrad runs the forward pass; we name its numbers as 001 does and check each equation.
        """
    ),
    code(
        """
        chain = handgrad.parse_model("sigmoid-mse-column", (1, 1, 1, 1))  # 4 layers, one neuron each
        L = chain.depth  # 3 layers with a weight and a bias
        params = handgrad.init_params(chain, np.random.default_rng(4))
        X, Y = np.array([[0.8]]), np.array([[1.0]])  # one example: x = a^(0) = 0.8, target y = 1
        cache = handgrad.forward(chain, params, X, "per-neuron")  # {"A0", "Z1", "A1", ..., "A3"}

        # The same numbers as plain scalars, indexed by layer like 001's superscripts
        w = {l: params[f"W{l}"].item() for l in range(1, L + 1)}
        b = {l: params[f"b{l}"].item() for l in range(1, L + 1)}
        z = {l: cache[f"Z{l}"].item() for l in range(1, L + 1)}
        a = {l: cache[f"A{l}"].item() for l in range(L + 1)}
        y = Y.item()

        for l in range(1, L + 1):
            assert np.isclose(z[l], w[l] * a[l - 1] + b[l])  # z^(l) = w^(l) a^(l-1) + b^(l)
            assert np.isclose(a[l], handgrad.sigmoid(z[l]))  # a^(l) = σ(z^(l))
        C = (a[L] - y) ** 2
        assert np.isclose(C, handgrad.loss(chain, params, X, Y))
        print(f"a^(L) = {a[L]:.4f}, y = {y}, C = (a^(L) - y)^2 = {C:.4f}")
        """
    ),
    md(
        r"""
        ### The weight of the last layer

        The cost depends on $w^{(L)}$ through $z^{(L)}$, then $a^{(L)}$. The chain rule multiplies
        the three local derivatives:

        $$\frac{\partial C}{\partial w^{(L)}} = \frac{\partial C}{\partial a^{(L)}}\,
        \frac{\partial a^{(L)}}{\partial z^{(L)}}\,\frac{\partial z^{(L)}}{\partial w^{(L)}}$$

        One factor at a time. First $\dfrac{\partial C}{\partial a^{(L)}} = 2(a^{(L)} - y)$:
        """
    ),
    code(
        """
        dC_da_L = mse_dC_dA(a[L], y, m=1)  # handgrad.losses: (2/m)(a - y), with m = 1 example
        check("∂C/∂a^(L)", dC_da_L, *oracles(lambda a_L: (a_L - y) ** 2, a[L]))
        """
    ),
    md(
        r"""
        $\dfrac{\partial a^{(L)}}{\partial z^{(L)}} = \sigma'(z^{(L)}) = \sigma(z^{(L)})\,
        \bigl(1 - \sigma(z^{(L)})\bigr)$:
        """
    ),
    code(
        """
        da_dz_L = handgrad.sigmoid.f_prime(z[L])
        check("∂a^(L)/∂z^(L)", da_dz_L, *oracles(jax.nn.sigmoid, z[L]))
        """
    ),
    md(
        r"""
        $\dfrac{\partial z^{(L)}}{\partial w^{(L)}} = a^{(L-1)}$

        > **A slip in 001.** It writes $\partial z^{(L)}/\partial w^{(L)} = a^{(L)}$. But
        > $z^{(L)} = w^{(L)} a^{(L-1)} + b^{(L)}$ is a straight line in $w^{(L)}$ whose slope is
        > $a^{(L-1)}$, the activation coming *into* the layer.
        """
    ),
    code(
        """
        dz_dw_L = a[L - 1]
        check("∂z^(L)/∂w^(L)", dz_dw_L, *oracles(lambda w_L: w_L * a[L - 1] + b[L], w[L]))
        print(f"a^(L-1) = {a[L - 1]:.4f}, while 001's a^(L) = {a[L]:.4f}")
        """
    ),
    md(
        r"""
        Multiply the three:
        $\dfrac{\partial C}{\partial w^{(L)}} = 2(a^{(L)} - y)\,\sigma'(z^{(L)})\,a^{(L-1)}$.
        This is a gradient of the whole network, so we compare it with
        `reference.jax_gradients` (JAX's derivative of the cost with respect to every parameter)
        and with `reference.central_differences` (each parameter nudged in turn).
        """
    ),
    code(
        """
        jax_grads = reference.jax_gradients(chain, params, X, Y)
        fd = reference.central_differences(reference.loss_callable(chain, X, Y), params).estimate

        dC_dw_L = dC_da_L * da_dz_L * dz_dw_L
        check("∂C/∂w^(L)", dC_dw_L, jax_grads[f"W{L}"], fd[f"W{L}"])

        as_printed = dC_da_L * da_dz_L * a[L]  # 001's result, with a^(L) for a^(L-1)
        print(f"001's printed ∂C/∂w^(L) is {as_printed / dC_dw_L:.3f} times the right value")
        assert not close(as_printed, jax_grads[f"W{L}"], tolerance("float64", "autodiff"))
        """
    ),
    md(
        r"""
        ### The bias, and the activation below

        The same chain with a different last factor: $\partial z^{(L)}/\partial b^{(L)} = 1$ and
        $\partial z^{(L)}/\partial a^{(L-1)} = w^{(L)}$.

        $$\frac{\partial C}{\partial b^{(L)}} = 2(a^{(L)} - y)\,\sigma'(z^{(L)}), \qquad
        \frac{\partial C}{\partial a^{(L-1)}} = 2(a^{(L)} - y)\,\sigma'(z^{(L)})\,w^{(L)}$$
        """
    ),
    code(
        """
        dC_db_L = dC_da_L * da_dz_L * 1
        check("∂C/∂b^(L)", dC_db_L, jax_grads[f"b{L}"], fd[f"b{L}"])

        dC_da_prev = dC_da_L * da_dz_L * w[L]
        check(
            "∂C/∂a^(L-1)",
            dC_da_prev,
            *oracles(lambda a_prev: (jax.nn.sigmoid(w[L] * a_prev + b[L]) - y) ** 2, a[L - 1]),
        )
        """
    ),
    md(
        r"""
        ### Every layer

        001: *"We do this for all layers."* $\partial C/\partial a^{(L-1)}$ plays the part for layer
        $L-1$ that $\partial C/\partial a^{(L)}$ played for layer $L$. Call
        $\delta^{(l)} = \partial C/\partial z^{(l)}$ the error of layer $l$ (handgrad calls it `dZ`).
        From $l = L$ down to $1$:

        $$\delta^{(l)} = \frac{\partial C}{\partial a^{(l)}}\,\sigma'(z^{(l)}), \quad
        \frac{\partial C}{\partial w^{(l)}} = \delta^{(l)} a^{(l-1)}, \quad
        \frac{\partial C}{\partial b^{(l)}} = \delta^{(l)}, \quad
        \frac{\partial C}{\partial a^{(l-1)}} = \delta^{(l)} w^{(l)}$$

        handgrad's per-neuron formulation (`handgrad/per_neuron.py`) is this loop, and
        `handgrad.backward(..., "per-neuron")` returns its `dZ`, `dW` and `db` for every layer. We
        run the loop here, and check each number against handgrad, JAX and finite differences.
        """
    ),
    code(
        """
        back = handgrad.backward(chain, params, X, Y, "per-neuron")  # {"dZ3", "dW3", "db3", ...}
        dC_da = {L: mse_dC_dA(a[L], y, m=1)}
        for l in range(L, 0, -1):
            delta = dC_da[l] * handgrad.sigmoid.f_prime(z[l])  # δ^(l) = ∂C/∂a^(l) σ'(z^(l))
            dC_dw = delta * a[l - 1]
            dC_db = delta
            dC_da[l - 1] = delta * w[l]  # handed down to layer l - 1
            assert np.allclose([delta, dC_dw, dC_db], [back[f"{d}{l}"].item() for d in ("dZ", "dW", "db")])
            check(f"∂C/∂a^({l})", dC_da[l], *oracles(cost_of_a(params, Y, l), cache[f"A{l}"]))
            check(f"δ^({l}) = ∂C/∂z^({l})", delta, *oracles(cost_of_z(params, Y, l), cache[f"Z{l}"]))
            check(f"∂C/∂w^({l})", dC_dw, jax_grads[f"W{l}"], fd[f"W{l}"])
            check(f"∂C/∂b^({l})", dC_db, jax_grads[f"b{l}"], fd[f"b{l}"])
        """
    ),
    md(
        r"""
        ## 2. Many neurons per layer

        Now each layer has several neurons: a 4-3-2 network on real MNIST digits. The 4 inputs are
        the mean brightness of the four quarters of a 28 × 28 image, and the 2 outputs say "zero" or
        "one". Six images make a batch of $m = 6$ examples, one per column.

        `data.load` reads MNIST from the folder named by the environment variable
        `HANDGRAD_DATA_DIR` if it is set, else downloads it once (about 11 MB) into a cache
        folder; offline, set `HANDGRAD_DATA_DIR` to a folder holding the four IDX `.gz` files.
        """
    ),
    code(
        """
        train = data.load("mnist", "train")
        pick = np.flatnonzero(train.labels < 2)[:6]  # the first six images of a 0 or a 1
        quarters = train.images[pick].reshape(-1, 2, 14, 2, 14).mean(axis=(2, 4))  # m x 2 x 2
        X = quarters.reshape(-1, 4).T.astype(np.float64)  # 4 x m: one example per column
        Y = data.one_hot(train.labels[pick], 2, "column")  # 2 x m: (1, 0) for a 0, (0, 1) for a 1

        model = handgrad.parse_model("sigmoid-mse-column", (4, 3, 2))
        params = handgrad.init_params(model, np.random.default_rng(0))
        L, m = model.depth, X.shape[1]
        print("labels:", train.labels[pick])
        print("X (quarter brightness, one column per image):")
        print(X.round(3))
        """
    ),
    md(
        r"""
        001's equations, with indices:

        $$z_j^{(L)} = \sum_k w_{jk}^{(L)} a_k^{(L-1)} + b_j^{(L)}, \qquad
        a_j^{(L)} = \sigma(z_j^{(L)}), \qquad C = \sum_{j=0}^{n_L-1} (a_j^{(L)} - y_j)^2$$

        > **A typo in 001:** it prints $C = \sum_{j=0}^{n_L - 1} = (a_j^{(L)} - y_j)^2$, with a stray
        > "=" after the sum.

        For a batch, handgrad's cost is the *mean* over the $m$ examples. With a second index $i$
        for the example ($a_{j,i}^{(L)}$ is unit $j$'s activation on example $i$):

        $$C = \sum_i C_i, \qquad C_i = \frac{1}{m}\sum_j (a_{j,i}^{(L)} - y_{j,i})^2$$

        $C_i$ is example $i$'s share of the cost, so every derivative below carries a $\frac{1}{m}$,
        and each example adds its share to the gradient.
        """
    ),
    code(
        """
        cache = handgrad.forward(model, params, X, "per-neuron")
        i = 0  # the first example
        for l in range(1, L + 1):
            W, bias, a_prev = params[f"W{l}"], params[f"b{l}"], cache[f"A{l - 1}"][:, i]
            for j in range(model.sizes[l]):
                z_j = sum(W[j, k] * a_prev[k] for k in range(model.sizes[l - 1])) + bias[j, 0]
                assert np.isclose(z_j, cache[f"Z{l}"][j, i])  # z_j = Σ_k w_jk a_k + b_j
                assert np.isclose(cache[f"A{l}"][j, i], handgrad.sigmoid(z_j))  # a_j = σ(z_j)

        C = np.sum((cache[f"A{L}"] - Y) ** 2) / m
        assert np.isclose(C, handgrad.loss(model, params, X, Y))
        print(f"C = {C:.4f}")
        """
    ),
    md(
        r"""
        ### One example, one weight at a time

        For example $i$ and one weight $w_{jk}^{(L)}$, the chain rule has the same three factors as
        before, now with indices. Example $i$'s share of $\partial C/\partial w_{jk}^{(L)}$ is

        $$\frac{\partial C_i}{\partial w_{jk}^{(L)}} = \frac{\partial C_i}{\partial a_{j,i}^{(L)}}\,
        \frac{\partial a_{j,i}^{(L)}}{\partial z_{j,i}^{(L)}}\,
        \frac{\partial z_{j,i}^{(L)}}{\partial w_{jk}^{(L)}}
        = \frac{2}{m}(a_{j,i}^{(L)} - y_{j,i})\;\sigma'(z_{j,i}^{(L)})\;a_{k,i}^{(L-1)}$$

        It is $\frac{1}{m}$ times the gradient of example $i$'s own cost (a batch of one), which is
        what we check it against.
        """
    ),
    code(
        """
        n_L, n_prev = model.sizes[L], model.sizes[L - 1]
        a_L, z_L, y_i = cache[f"A{L}"][:, i], cache[f"Z{L}"][:, i], Y[:, i]
        a_prev = cache[f"A{L - 1}"][:, i]

        dC_dw = np.zeros((n_L, n_prev))  # example i's share of ∂C/∂w^(L)
        for j in range(n_L):
            dC_da_j = 2 / m * (a_L[j] - y_i[j])  # ∂C/∂a_j^(L); the 1/m is the batch mean's
            for k in range(n_prev):
                dC_dw[j, k] = dC_da_j * handgrad.sigmoid.f_prime(z_L[j]) * a_prev[k]

        X_i, Y_i = X[:, [i]], Y[:, [i]]
        share_jax = reference.jax_gradients(model, params, X_i, Y_i)[f"W{L}"] / m
        share_fd = reference.central_differences(reference.loss_callable(model, X_i, Y_i), params)
        check(f"∂C_{i}/∂w_jk^(L)", dC_dw, share_jax, share_fd.estimate[f"W{L}"] / m)
        """
    ),
    md(
        r"""
        A unit $k$ of layer $L-1$ feeds *every* unit $j$ of layer $L$, so its derivative adds up
        one chain per $j$:

        $$\frac{\partial C}{\partial a_{k,i}^{(L-1)}} = \sum_{j=0}^{n_L-1}
        \frac{\partial C}{\partial a_{j,i}^{(L)}}\,\sigma'(z_{j,i}^{(L)})\,w_{jk}^{(L)}$$

        > **Another slip in 001:** the left side is printed $\partial C/\partial a_k^{(L)}$; the
        > unit $k$ is in layer $L-1$.
        """
    ),
    code(
        """
        W = params[f"W{L}"]
        dC_da_prev = np.zeros(n_prev)
        for k in range(n_prev):
            dC_da_prev[k] = sum(
                2 / m * (a_L[j] - y_i[j]) * handgrad.sigmoid.f_prime(z_L[j]) * W[j, k] for j in range(n_L)
            )

        jax_dA, fd_dA = oracles(cost_of_a(params, Y, L - 1), cache[f"A{L - 1}"])  # every example
        check(f"∂C/∂a_k^(L-1), example {i}", dC_da_prev, jax_dA[:, i], fd_dA[:, i])
        """
    ),
    md(
        r"""
        ### Every layer, every example

        handgrad's per-neuron formulation runs these loops for every example, unit and layer, and
        adds up the examples' shares. With $\delta_{j,i}^{(l)} = \partial C/\partial z_{j,i}^{(l)}$,
        which already holds the batch mean's $\frac{1}{m}$ (it enters with
        $\partial C/\partial a_{j,i}^{(L)} = \frac{2}{m}(a_{j,i}^{(L)} - y_{j,i})$):

        $$\frac{\partial C}{\partial a_{k,i}^{(l-1)}} = \sum_j w_{jk}^{(l)} \delta_{j,i}^{(l)}, \qquad
        \delta_{j,i}^{(l)} = \frac{\partial C}{\partial a_{j,i}^{(l)}}\,\sigma'(z_{j,i}^{(l)}), \qquad
        \frac{\partial C}{\partial w_{jk}^{(l)}} = \sum_i \delta_{j,i}^{(l)} a_{k,i}^{(l-1)}, \qquad
        \frac{\partial C}{\partial b_j^{(l)}} = \sum_i \delta_{j,i}^{(l)}$$

        Every intermediate quantity at every layer, against both oracles, and handgrad's `dW` and
        `db` against the last two sums, $\sum_i \delta a$ as the matrix product
        $\delta^{(l)} A^{(l-1)T}$ and $\sum_i \delta$ as a sum over the columns (the examples):
        """
    ),
    code(
        """
        back = handgrad.backward(model, params, X, Y, "per-neuron")
        jax_grads = reference.jax_gradients(model, params, X, Y)
        fd = reference.central_differences(reference.loss_callable(model, X, Y), params).estimate

        for l in range(L, 0, -1):
            if l == L:
                dC_da = mse_dC_dA(cache[f"A{L}"], Y, m)  # 2/m (a_j - y_j)
            else:
                dC_da = params[f"W{l + 1}"].T @ back[f"dZ{l + 1}"]  # Σ_j w_jk δ_j, every k and i
            assert np.allclose(back[f"dZ{l}"], dC_da * handgrad.sigmoid.f_prime(cache[f"Z{l}"]))
            check(f"∂C/∂a^({l})", dC_da, *oracles(cost_of_a(params, Y, l), cache[f"A{l}"]))
            check(f"δ^({l})", back[f"dZ{l}"], *oracles(cost_of_z(params, Y, l), cache[f"Z{l}"]))
            # ∂C/∂w_jk = Σ_i δ_j,i a_k,i and ∂C/∂b_j = Σ_i δ_j,i: the sums over the examples
            dW, db = back[f"dZ{l}"] @ cache[f"A{l - 1}"].T, back[f"dZ{l}"].sum(axis=1, keepdims=True)
            assert close(back[f"dW{l}"], dW, tolerance("float64", "formulations"))
            assert close(back[f"db{l}"], db, tolerance("float64", "formulations"))
            check(f"∂C/∂w^({l})", back[f"dW{l}"], jax_grads[f"W{l}"], fd[f"W{l}"])
            check(f"∂C/∂b^({l})", back[f"db{l}"], jax_grads[f"b{l}"], fd[f"b{l}"])
        """
    ),
    *formulations_cells("this 4-3-2 network"),
    md(
        """
        The same check at document 001's own size, 784-16-16-10 on 16 MNIST images, against JAX
        and finite differences (`handgrad verify` runs this for every document):
        """
    ),
    code(
        """
        from handgrad.recipes import RECIPES
        from handgrad.verify import format_table, verify_recipe

        rows = verify_recipe(RECIPES["sigmoid-mse-column"], batch_size=16)
        print(format_table(rows))
        assert all(row.passed for row in rows)
        """
    ),
]

# --- 2: row-major batches (document 000) --------------------------------------------------------

ROW_MAJOR = [
    md(
        r"""
        # 2 · Backprop for a batch, one example per row

        This notebook derives the gradient of a whole batch at once, with matrices, following
        document 000 (*MNIST Classification with Numpy and Backpropagation*). 000 puts each example
        in a **row** of the input (a batch is made *"by simply adding more rows to the input
        matrix"*), and a layer computes

        $$a^L = \sigma(a^{L-1} w^L + b^L)$$

        The rest of the notation is ours (000 uses $m$ and $n$ for the widths of layers $L-1$ and
        $L$): $X$ is $m \times 784$, $m$ examples of 784 pixels, one per row. We write $A^l$ for
        the activations of layer $l$ for the whole batch ($m \times n_l$), $Z^l = A^{l-1} W^l + b^l$
        for the pre-activations, $W^l$ for the $n_{l-1} \times n_l$ weights and $b^l$ for the
        $1 \times n_l$ bias row, which is added to every example's row. $A^0 = X$. The weights are
        the other way round from notebooks 1 and 3: there `W[j, k]` joins unit $k$ of the layer
        below to unit $j$, here entry $(k, j)$ of $W^l$ does.

        Each step: the equation, the code, then a check against JAX autodiff and finite differences.
        On the way we meet two slips in 000: its $(y - a)$, which has the wrong sign and lacks a
        $2$ and a $\frac{1}{m}$, and a bias gradient that forgets to add up the batch.
        """
    ),
    code(IMPORTS),
    CHECKS_INTRO,
    CHECKS,
    *oracle_cells(
        "sigmoid-mse-row",
        "jax.nn.sigmoid",
        "jnp.sum((Y - A) ** 2) / m",
        "000's MSE, read as (1/m) Σ_i ||y_i - a_i^L||^2",
        "Y.shape[0]",
    ),
    md(
        """
        ## The network and a batch

        000's network as handgrad's `sigmoid-mse-row` recipe sets it up: 784 inputs, 30 sigmoid
        hidden units and 10 sigmoid outputs (000 gives no sizes; these are Nielsen's, whose figures
        it borrows). A batch of 8 MNIST images.
        """
    ),
    code(
        """
        model = handgrad.parse_model("sigmoid-mse-row", (784, 30, 10))
        params = handgrad.init_params(model, np.random.default_rng(0))  # W ~ N(0, 1/n_in), b ~ N(0, 1)
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]

        train = data.load("mnist", "train")
        X = np.asarray(train.images[:8], np.float64)  # m x n = 8 x 784: one image per row
        Y = data.one_hot(train.labels[:8], 10, "row")  # 8 x 10: a 1 in the digit's column
        m = X.shape[0]
        for name, value in {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "Y": Y}.items():
            print(f"{name:>2} is {value.shape[0]} x {value.shape[1]}")
        """
    ),
    md(
        r"""
        ## Forward

        $$Z^1 = A^0 W^1 + b^1, \quad A^1 = \sigma(Z^1), \qquad Z^2 = A^1 W^2 + b^2, \quad
        A^2 = \sigma(Z^2)$$

        $b^l$ is a single row; NumPy adds it to each of the $m$ rows. That is all a batch takes:
        000's *"simply adding more rows to the input matrix"*.
        """
    ),
    code(
        """
        Z1 = X @ W1 + b1  # (m x 784)(784 x 30) + (1 x 30) -> m x 30
        A1 = handgrad.sigmoid(Z1)
        Z2 = A1 @ W2 + b2  # (m x 30)(30 x 10) + (1 x 10) -> m x 10
        A2 = handgrad.sigmoid(Z2)

        cache = handgrad.forward(model, params, X, "row")  # handgrad's row-major forward pass
        for key, value in {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}.items():
            assert close(value, cache[key], tolerance("float64", "formulations")), key
        """
    ),
    md(
        r"""
        ## The loss

        000 writes its mean squared error as $\text{MSE} = \frac{1}{m}\sum_i^m (y - a^L)^2$: the
        summand has no $i$, and $m$ was the width of layer $L-1$ a few lines earlier. We read it as
        the mean over the $m$ examples of each example's squared error, summed over its 10 outputs:

        $$C = \frac{1}{m}\sum_{i=1}^{m} \lVert y_i - a^L_i \rVert^2$$
        """
    ),
    code(
        """
        C = np.sum((Y - A2) ** 2) / m
        assert np.isclose(C, handgrad.loss(model, params, X, Y))
        print(f"C = {C:.4f}")
        """
    ),
    md(
        r"""
        ## Backward: the output layer

        ### $\partial C / \partial A^2$

        000's chain rule starts from $\partial\,\text{Loss}/\partial a^L$ but never writes it alone:
        in its results for $\partial\,\text{Loss}/\partial w^L$ and $\partial\,\text{Loss}/\partial b^L$
        the first factor, where $\partial\,\text{Loss}/\partial a^L$ stood, is $(y - a^L)$.

        > **Slip 1: the sign, the 2 and the $\frac{1}{m}$.** The derivative of $(y - a)^2$ with
        > respect to $a$ is $-2(y - a) = 2(a - y)$, and the mean over the batch keeps its
        > $\frac{1}{m}$:
        > $$\frac{\partial C}{\partial A^2} = \frac{2}{m}(A^2 - Y)$$
        > 000's $(y - a^L)$ is $-\frac{m}{2}$ times this: it points the other way.
        """
    ),
    code(
        """
        dC_dA2 = mse_dC_dA(A2, Y, m)  # handgrad.losses: (2/m)(A - Y), m x 10
        check("∂C/∂A^2", dC_dA2, *oracles(cost_of_a(params, Y, 2), A2))

        assert np.allclose(Y - A2, -m / 2 * dC_dA2)
        print(f"000's (y - a^L) is {-m / 2:g} times the true ∂C/∂A^2")
        """
    ),
    md(
        r"""
        ### $dZ^2$

        Back through the sigmoid, entry by entry ($\odot$ is the element-wise product):

        $$dZ^2 = \frac{\partial C}{\partial Z^2} = \frac{\partial C}{\partial A^2} \odot
        \sigma'(Z^2)$$

        handgrad's MSE loss carries this output delta ready-made, `model.loss.delta`.
        """
    ),
    code(
        """
        dZ2 = dC_dA2 * handgrad.sigmoid.f_prime(Z2)  # m x 10
        check("dZ^2", dZ2, *oracles(cost_of_z(params, Y, 2), Z2))
        assert np.allclose(dZ2, model.loss.delta(Z2, Y, 1, m))  # class axis 1: an example per row
        """
    ),
    md(
        r"""
        ### $dW^2$

        000 writes $\dfrac{\partial\,\text{Loss}}{\partial w_L} = a^T_{L-1}(y - a_L)\,\sigma'(z_L)$.
        The order is right: $(A^1)^T$ ($30 \times m$) times an $m \times 10$ matrix gives $W^2$'s
        $30 \times 10$, and the matrix product adds up the $m$ examples for us. With the first factor
        corrected:

        $$dW^2 = (A^1)^T\,dZ^2$$

        Finite differences nudge one parameter at a time, so for $W^1$ (23,520 entries) we sample
        40 of them, on pixels lit in at least one of the $m$ images (a blank pixel's weights have
        an exactly zero gradient, a trivial check).
        """
    ),
    code(
        """
        jax_grads = reference.jax_gradients(model, params, X, Y)
        rng = np.random.default_rng(0)
        lit = np.flatnonzero(X.any(axis=0))  # pixels lit in at least one image
        entries = {key: list(np.ndindex(value.shape)) for key, value in params.items()}
        pixels = rng.choice(lit, 40, replace=False)  # 40 different pixels
        entries["W1"] = list(zip(pixels, rng.integers(0, 30, 40), strict=True))
        fd = reference.central_differences(
            reference.loss_callable(model, X, Y), params, entries=entries
        ).estimate

        dW2 = A1.T @ dZ2  # (30 x m)(m x 10) -> 30 x 10, the shape of W2
        check("dW^2", dW2, jax_grads["W2"], fd["W2"])
        """
    ),
    md(
        r"""
        What does 000's sign do? One step of gradient descent, $W^2 \leftarrow W^2 - \alpha\,dW^2$,
        with each version:
        """
    ),
    code(
        """
        dW2_000 = A1.T @ ((Y - A2) * handgrad.sigmoid.f_prime(Z2))  # 000's formula as printed
        assert np.allclose(dW2_000, -m / 2 * dW2)

        alpha = 0.1
        after = {}
        for name, g in {"the true dW2": dW2, "000's dW2": dW2_000}.items():
            after[name] = handgrad.loss(model, params | {"W2": W2 - alpha * g}, X, Y)
            print(f"one step along -({name}): loss {C:.4f} -> {after[name]:.4f}")
        assert after["the true dW2"] < C < after["000's dW2"]  # 000's step goes uphill
        """
    ),
    md(
        r"""
        ### $db^2$

        000 writes $\dfrac{\partial\,\text{Loss}}{\partial b_L} = (y - a_L)\,\sigma'(z_L)$.

        > **Slip 2: the bias gradient must add up the batch.** That expression is $m \times 10$,
        > one row per example. But $b^2$ is a single $1 \times 10$ row, added to every example's
        > row, so its gradient is the sum of $dZ^2$ over the rows (the examples):
        > $$db^2 = \sum_{i=1}^{m} dZ^2_{i,:}$$
        """
    ),
    code(
        """
        db2 = dZ2.sum(axis=0, keepdims=True)  # over the rows (axis 0): 1 x 10, b2's shape
        print(f"dZ2 is {dZ2.shape}, b2 is {b2.shape}, db2 is {db2.shape}")
        check("db^2", db2, jax_grads["b2"], fd["b2"])
        """
    ),
    md(
        r"""
        ## Backward: the hidden layer

        000 writes $\dfrac{\partial\,\text{Loss}}{\partial a_{L-1}} = (y - a_L)\,\sigma'(z_L)\,
        w^T_L$: the right order and transpose ($m \times 10$ times $10 \times 30$), with the same
        sign and scale slip. Corrected, and on down to the first layer:

        $$\frac{\partial C}{\partial A^1} = dZ^2\,(W^2)^T, \qquad
        dZ^1 = \frac{\partial C}{\partial A^1} \odot \sigma'(Z^1), \qquad
        dW^1 = (A^0)^T dZ^1, \qquad db^1 = \sum_{i=1}^{m} dZ^1_{i,:}$$
        """
    ),
    code(
        """
        dC_dA1 = dZ2 @ W2.T  # (m x 10)(10 x 30) -> m x 30
        check("∂C/∂A^1", dC_dA1, *oracles(cost_of_a(params, Y, 1), A1))

        dZ1 = dC_dA1 * handgrad.sigmoid.f_prime(Z1)  # m x 30
        check("dZ^1", dZ1, *oracles(cost_of_z(params, Y, 1), Z1))

        dW1 = X.T @ dZ1  # (784 x m)(m x 30) -> 784 x 30
        check("dW^1", dW1, jax_grads["W1"], fd["W1"])

        db1 = dZ1.sum(axis=0, keepdims=True)  # 1 x 30
        check("db^1", db1, jax_grads["b1"], fd["b1"])
        """
    ),
    md(
        """
        ## handgrad's row-major formulation

        `handgrad/row_major.py` is these lines, looped over the layers;
        `handgrad.backward(..., "row")` returns every `dZ`, `dW` and `db`. They equal ours:
        """
    ),
    code(
        """
        back = handgrad.backward(model, params, X, Y, "row")
        ours = {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dZ1": dZ1, "dW1": dW1, "db1": db1}
        for key, value in ours.items():
            assert close(value, back[key], tolerance("float64", "formulations")), key
        print("equal:", ", ".join(ours))
        """
    ),
    *formulations_cells("this 784-30-10 network"),
]

# --- 3: column-major batches (document 002) -----------------------------------------------------

COLUMN_MAJOR = [
    md(
        r"""
        # 3 · Backprop for a batch, one example per column

        Document 002 (*Simple MNIST NN from scratch*, Samson Zhang) puts each example in a
        **column**: $X$ is $784 \times m$. Its network has 784 inputs, 10 ReLU units and 10 softmax
        outputs. $W^{[l]}$ is $n^{[l]} \times n^{[l-1]}$ and $b^{[l]}$ is $n^{[l]} \times 1$,
        broadcast across the $m$ columns:

        $$Z^{[1]} = W^{[1]} X + b^{[1]}, \quad A^{[1]} = \text{ReLU}(Z^{[1]}), \qquad
        Z^{[2]} = W^{[2]} A^{[1]} + b^{[2]}, \quad A^{[2]} = \text{softmax}(Z^{[2]})$$

        Its backward pass:

        $$dZ^{[2]} = A^{[2]} - Y, \quad dW^{[2]} = \tfrac{1}{m} dZ^{[2]} A^{[1]T}, \quad
        db^{[2]} = \tfrac{1}{m} \textstyle\sum dZ^{[2]}$$
        $$dZ^{[1]} = W^{[2]T} dZ^{[2]} \odot g'(Z^{[1]}), \quad
        dW^{[1]} = \tfrac{1}{m} dZ^{[1]} X^T, \quad db^{[1]} = \tfrac{1}{m} \textstyle\sum dZ^{[1]}$$

        We derive each line, check it against JAX and finite differences, and find out which way
        that $\sum$ has to sum. Documents 003 and 004 derive the same two-layer backward pass
        (004 with ELU hidden units); their slips are collected at the end.

        **One convention to know.** handgrad keeps the $\frac{1}{m}$ of the batch mean inside $dZ$:
        its $dZ^{[2]} = \frac{1}{m}(A^{[2]} - Y)$, so that $dW = dZ\,A^T$ and $db = \sum dZ$ need no
        further $\frac{1}{m}$. The $dW$ come out identical to 002's, and the $db$ too once its sum is
        taken per unit (see below); only $dZ$ is scaled.
        """
    ),
    code(IMPORTS.replace("from handgrad.losses import mse_dC_dA\n    ", "")),
    CHECKS_INTRO,
    CHECKS,
    code(
        '''
        def relu(Z):
            """ReLU for JAX, with ReLU'(0) = 0 like 002's `Z > 0`."""
            return jnp.where(Z > 0, Z, 0.0)
        '''
    ),
    *oracle_cells(
        "relu-softmax-column",
        "relu",
        "-jnp.sum(Y * jnp.log(A)) / m",
        "J = -(1/m) Σ y log ŷ",
        "Y.shape[1]",
    ),
    md(
        """
        ## The network and a batch

        002's network exactly, initialised as 002 does (`np.random.rand(...) - 0.5`, uniform on
        $[-0.5, 0.5]$), and a batch of 16 MNIST images.
        """
    ),
    code(
        """
        model = handgrad.parse_model("relu-softmax-column", (784, 10, 10))
        params = handgrad.init_params(model, np.random.default_rng(0), "uniform", 0.5)
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]

        train = data.load("mnist", "train")
        X = data.to_layout(np.asarray(train.images[:16], np.float64), "column")  # 784 x m
        Y = data.one_hot(train.labels[:16], 10, "column")  # 10 x m: a 1 in the digit's row
        m = X.shape[1]
        for name, value in {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "Y": Y}.items():
            print(f"{name:>2} is {value.shape[0]} x {value.shape[1]}")
        """
    ),
    md(
        r"""
        ## Forward

        Softmax turns each column of $Z^{[2]}$ (one example's 10 scores) into probabilities that
        sum to 1. handgrad's `softmax` subtracts each column's maximum first, so `exp` cannot
        overflow (002's `np.exp(Z) / sum(np.exp(Z))` can).
        """
    ),
    code(
        """
        Z1 = W1 @ X + b1  # (10 x 784)(784 x m) + (10 x 1) -> 10 x m
        A1 = handgrad.relu(Z1)
        Z2 = W2 @ A1 + b2  # (10 x 10)(10 x m) + (10 x 1) -> 10 x m
        A2 = handgrad.softmax(Z2, axis=0)  # over each column: one example's 10 digits

        cache = handgrad.forward(model, params, X)  # handgrad's column-major forward pass
        for key, value in {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}.items():
            assert close(value, cache[key], tolerance("float64", "formulations")), key
        print("first example's probabilities:", A2[:, 0].round(3), f"sum: {A2[:, 0].sum():.6f}")
        """
    ),
    md(
        r"""
        ## The loss

        002's cross-entropy for one example is $J(\hat y, y) = -\sum_{i=0}^{c} y_i \log \hat y_i$
        with $\hat y = A^{[2]}$, its $i$ running over the classes (002 never defines $c$: it must
        be the last class, 9). Written with $k$ for the class, $-\sum_{k=0}^{9} y_k \log \hat
        y_k$, so that $i$ is free for the examples: over the batch the loss is the mean (that is
        where 002's $\frac{1}{m}$ comes from),

        $$J = -\frac{1}{m} \sum_{i=1}^{m} \sum_{k=0}^{9} Y_{k,i} \log A^{[2]}_{k,i}$$

        > **A slip in 002's worked example.** Its $J = -\log(y_4) = -\log(0.80) \approx 0.097$
        > means $\hat y_4$ and takes a base-10 log; the natural log, which
        > $dZ^{[2]} = A^{[2]} - Y$ assumes, gives $0.223$.
        """
    ),
    code(
        """
        J = -np.sum(Y * np.log(A2)) / m
        assert np.isclose(J, handgrad.loss(model, params, X, Y))  # handgrad: via log-softmax of Z2
        print(f"J = {J:.4f}")
        """
    ),
    md(
        r"""
        ## $dZ^{[2]}$

        002: *"starting by calculating $\partial J/\partial A^{[2]}$, or $dA^{[2]}$. Turns out that
        this derivative is simply: $dA^{[2]} = Y - A^{[2]}$."*

        > **A slip in 002.** $\partial J/\partial A^{[2]}$ is $-\frac{1}{m}\,Y / A^{[2]}$ (entry by
        > entry), not $Y - A^{[2]}$. What *is* simple is the derivative through softmax and
        > cross-entropy together:
        > $$dZ^{[2]} = \frac{\partial J}{\partial Z^{[2]}} = \frac{1}{m}(A^{[2]} - Y)$$
        > (the Jacobian below gives $\frac{1}{m}(a \sum_k y_k - y)$ for one example, and
        > $\sum_k y_k = 1$ for a one-hot label), which is the line 002 then uses, $dZ^{[2]} = A^{[2]} - Y$, with the $\frac{1}{m}$ moved
        > into $dW$ and $db$. (Its $Y - A^{[2]}$ would also have the wrong sign.) Just after,
        > *"From $dA^{[2]}$, we can calculate $dW^{[2]}$ and $db^{[1]}$"*, means $db^{[2]}$: the
        > formulas under it are $dW^{[2]}$ and $dB^{[2]}$, and $db^{[1]}$ comes after $dZ^{[1]}$.

        Step by step: first $\partial J/\partial A^{[2]}$, then back through softmax, whose
        Jacobian for one example is $\operatorname{diag}(a) - a a^T$. Then the fused formula.
        """
    ),
    code(
        """
        dJ_dA2 = -Y / A2 / m
        check("∂J/∂A^[2]", dJ_dA2, *oracles(cost_of_a(params, Y, 2), A2))

        # Back through softmax, one example (column) at a time: dz = (diag(a) - a aᵀ) da
        step_by_step = np.stack(
            [(np.diag(a) - np.outer(a, a)) @ da for a, da in zip(A2.T, dJ_dA2.T, strict=True)],
            axis=1,
        )
        dZ2 = (A2 - Y) / m  # the fused form, handgrad's softmax cross-entropy delta
        assert np.allclose(step_by_step, dZ2)
        assert np.allclose(dZ2, model.loss.delta(Z2, Y, 0, m))  # class axis 0: an example per column
        check("dZ^[2]", dZ2, *oracles(cost_of_z(params, Y, 2), Z2))

        dZ2_002 = A2 - Y  # 002's dZ^[2]: m times handgrad's
        """
    ),
    md(
        r"""
        ## $dW^{[2]}$

        $$dW^{[2]} = \frac{1}{m}\,(A^{[2]} - Y)\,A^{[1]T} = dZ^{[2]} A^{[1]T}$$

        Finite differences nudge one parameter at a time, so for $W^{[1]}$ (7,840 entries) we
        sample 40 of them, on pixels lit in at least one of the $m$ images (a blank pixel's weights
        have an exactly zero gradient, a trivial check).
        """
    ),
    code(
        """
        jax_grads = reference.jax_gradients(model, params, X, Y)
        rng = np.random.default_rng(0)
        lit = np.flatnonzero(X.any(axis=1))  # pixels lit in at least one image
        entries = {key: list(np.ndindex(value.shape)) for key, value in params.items()}
        pixels = rng.choice(lit, 40, replace=False)  # 40 different pixels
        entries["W1"] = list(zip(rng.integers(0, 10, 40), pixels, strict=True))
        fd = reference.central_differences(
            reference.loss_callable(model, X, Y), params, entries=entries
        ).estimate

        dW2 = dZ2 @ A1.T  # (10 x m)(m x 10) -> 10 x 10; the 1/m is already in dZ2
        assert np.allclose(dW2, 1 / m * dZ2_002.dot(A1.T))  # 002's line: the same matrix
        check("dW^[2]", dW2, jax_grads["W2"], fd["W2"])
        """
    ),
    md(
        r"""
        ## $db^{[2]}$: which way does $\sum$ sum?

        002 writes $db^{[2]} = \frac{1}{m}\sum dZ^{[2]}$ and codes it `db2 = 1 / m * np.sum(dZ2)`.
        Without an `axis`, `np.sum` adds up *every* entry: one number. But $b^{[2]}$ is
        $10 \times 1$, one bias per output unit, added to every column (example). So each unit's
        bias gradient adds up that unit's row of $dZ^{[2]}$ across the columns: `axis=1`.
        `keepdims=True` keeps the result a $10 \times 1$ column, like $b^{[2]}$.
        """
    ),
    code(
        """
        db2 = np.sum(dZ2, axis=1, keepdims=True)  # 10 x 1: for each unit, the sum over examples
        check("db^[2]", db2, jax_grads["b2"], fd["b2"])

        db2_002 = 1 / m * np.sum(dZ2_002)  # 002's code: every entry summed into one number
        print(f"002's 1 / m * np.sum(dZ2): {db2_002:.1e}")
        wrong = np.broadcast_to(db2_002, b2.shape)
        assert not close(wrong, jax_grads["b2"], tolerance("float64", "autodiff"))
        """
    ),
    md(
        r"""
        It is worse than a wrong shape. Every column of $A^{[2]} - Y$ sums to $1 - 1 = 0$ (the
        softmax outputs and the one-hot labels both sum to 1), so 002's `np.sum(dZ2)` is always
        zero, up to rounding: $b^{[2]}$ never learns. Two more tempting mistakes:
        """
    ),
    code(
        """
        over_units = np.sum(dZ2, axis=0)  # one number per example, each zero for the same reason
        print(f"axis=0, over the units: shape {over_units.shape}, largest {np.abs(over_units).max():.0e}")
        no_keepdims = np.sum(dZ2, axis=1)  # shape (10,): a row, not a column
        print("axis=1 without keepdims:", no_keepdims.shape, end=" ")
        print("-> b2 - 0.1 * db2 has shape", (b2 - 0.1 * no_keepdims).shape)  # broadcast to 10 x 10
        """
    ),
    md(
        r"""
        ## $dZ^{[1]}$

        002: $dZ^{[1]} = W^{[2]T} dZ^{[2]} \cdot g'(Z^{[1]})$. The error flows back through
        $W^{[2]}$ transposed; the "$\cdot$" is an entry-by-entry product with ReLU's derivative,
        1 where $Z^{[1]} > 0$ and 0 elsewhere (002's `ReLU_deriv(Z) = Z > 0`).
        """
    ),
    code(
        """
        dJ_dA1 = W2.T @ dZ2  # (10 x 10)(10 x m) -> 10 x m
        check("∂J/∂A^[1]", dJ_dA1, *oracles(cost_of_a(params, Y, 1), A1))

        dZ1 = dJ_dA1 * handgrad.relu.f_prime(Z1)  # ReLU'(z) = 1 if z > 0 else 0
        check("dZ^[1]", dZ1, *oracles(cost_of_z(params, Y, 1), Z1))
        """
    ),
    md(
        r"""
        ## $dW^{[1]}$ and $db^{[1]}$

        $$dW^{[1]} = dZ^{[1]} X^T, \qquad db^{[1]} = \textstyle\sum_{\text{columns}} dZ^{[1]}$$

        > **A slip in 002's list of shapes:** it gives $dW^{[1]}$ as $10 \times 10$. Like
        > $W^{[1]}$, it is $10 \times 784$.
        """
    ),
    code(
        """
        dW1 = dZ1 @ X.T  # (10 x m)(m x 784) -> 10 x 784
        check("dW^[1]", dW1, jax_grads["W1"], fd["W1"])

        db1 = np.sum(dZ1, axis=1, keepdims=True)  # 10 x 1
        check("db^[1]", db1, jax_grads["b1"], fd["b1"])
        """
    ),
    md(
        """
        ## handgrad's column-major formulation

        `handgrad/column_major.py` is these lines, looped over the layers;
        `handgrad.backward(..., "column")` returns every `dZ`, `dW` and `db`. They equal ours:
        """
    ),
    code(
        """
        back = handgrad.backward(model, params, X, Y, "column")
        ours = {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dZ1": dZ1, "dW1": dW1, "db1": db1}
        for key, value in ours.items():
            assert close(value, back[key], tolerance("float64", "formulations")), key
        print("equal:", ", ".join(ours))
        """
    ),
    *formulations_cells("002's 784-10-10 network"),
    md(
        r"""
        ## Slips in 003 and 004

        003 writes $dw^{[2]} = \frac{1}{m} dz^{[2]} A^{[0]T}$; layer 2's weights multiply
        $A^{[1]}$, so it is $A^{[1]T}$, as in $dW^{[2]}$ above. 004 (a two-layer network like
        002's, with ELU hidden units) writes $dZ^1 = W^2\text{.T} \ast dZ^1 \ast g'()$, with
        $dZ^1$ where $dZ^2$ belongs, and a $g'()$ (*"the derivative of the activation
        function"*) with no argument, never written out: for its ELU it is $1$ for $z > 0$ and
        $\alpha e^z$ for $z \le 0$, at $Z^1$.

        Their words slip too. Both call $db^{[2]} = \frac{1}{m}\sum dZ^{[2]}$ *"the average of the
        absolute error"*: it is the signed mean, which is why 002's sum over every entry cancels to
        0 (an absolute value would not). 003's $dz^{[2]}$ subtracts *"the actual errors (y)"*: $y$
        is the labels, not errors. 004 *"updates a hyperparameter α"*: the update changes the
        parameters $W$ and $b$, with $\alpha$ the learning rate, as 004 itself says next.
        """
    ),
]

# --- 4: check your own gradient -----------------------------------------------------------------

BACKWARD_PROP = '''
    def backward_prop{suffix}(params, X, Y):
        """{doc}"""
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        m = X.shape[1]
        Z1 = W1.dot(X) + b1
        A1 = ReLU(Z1)
        Z2 = W2.dot(A1) + b2
        A2 = softmax(Z2)
        dZ2 = A2 - Y
        dW2 = 1 / m * dZ2.dot(A1.T)
        db2 = 1 / m * np.sum(dZ2{axis})
        dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
        dW1 = 1 / m * dZ1.dot(X.T)
        db1 = 1 / m * np.sum(dZ1{axis})
        return dW1, db1, dW2, db2
    '''

CHECK_YOUR_OWN = [
    md(
        """
        # 4 · Check your own gradient

        You derived backprop by hand and wrote it in NumPy. Is it right? `handgrad.check_gradients`
        compares your function with JAX autodiff and finite differences on real MNIST images and,
        when something is wrong, says what, in network terms.

        Here we check document 002's backward pass. Its gradient lines are as printed; around them:

        - it takes `(params, X, Y)`, the checker's calling convention, instead of 002's
          `(Z1, A1, Z2, A2, W1, W2, X, Y)`, so 002's forward pass is inlined at the top;
        - `Y` arrives one-hot, so 002's `one_hot(Y)` is gone;
        - `m` is defined (the printed code uses it without defining it).

        The softmax also subtracts each column's maximum before `exp`: a safety change, not a
        repair, since 002's `np.exp(Z) / sum(np.exp(Z))` does not overflow on these inputs.
        """
    ),
    code(
        """
        import inspect
        import textwrap

        import numpy as np

        import handgrad
        from handgrad.testing import assert_gradients_match
        """
    ),
    code(
        """
        def ReLU(Z):
            return np.maximum(Z, 0)


        def ReLU_deriv(Z):
            return Z > 0


        def softmax(Z):
            E = np.exp(Z - Z.max(axis=0, keepdims=True))  # minus the max: no overflow
            return E / E.sum(axis=0, keepdims=True)
        """
    ),
    code(
        BACKWARD_PROP.format(
            suffix="",
            doc="Document 002's backward pass: params W1, b1, W2, b2; X 784 x m; Y one-hot 10 x m.",
            axis="",
        )
    ),
    md(
        """
        `check_gradients` calls `backward_prop(params, X, Y)` with random parameters and 16 MNIST
        training images, laid out as the model name says (`column`: one example per column). It
        first makes sure no gradient entry is 0 for a reason other than the formula: it lights the
        pixels that are blank in all 16 images (one image each) and raises the bias of any ReLU
        unit that is off for every image, since a loop that skipped those would pass. It
        accepts the gradients as a dict keyed like the parameters or, as here, a tuple
        `(dW1, db1, dW2, db2)`, and compares every entry:
        """
    ),
    code(
        """
        report = handgrad.check_gradients(backward_prop, "relu-softmax-column", (784, 10, 10))
        print(report)
        """
    ),
    md(
        """
        ## Reading the report

        One row per parameter. The right gradient is JAX autodiff's (`jax.grad` of the loss, in
        float64). **max abs err** is the largest |yours − right| over the tensor's entries and
        **max rel err** is that divided by the tensor's largest right entry,
        max |yours − right| / max |right|: 1.00 means an error as large as the gradient itself.
        The first two notes say what was done to the inputs (the title's "blank pixels lit") and
        to the biases. The last is about the oracle, not about you: finite differences first
        checked JAX's gradient at a sample of entries and along a few random directions, and your
        gradient was then compared with JAX's, entry by entry.

        `W1` and `W2` pass. `b1` and `b2` FAIL, and the diagnosis is **wrong-axis**: the function
        returned one number where a 10 × 1 column was expected, because `np.sum` without an `axis`
        adds up every entry. `b2`'s one number is of order 1e-17, which is 0 up to rounding: notebook 3
        showed that each example's column of $A^{[2]} - Y$ sums to 0 over the classes, so all of
        `dZ2` sums to 0 too, and with 002's code $b^{[2]}$ never learns. The fix is in the
        diagnosis: sum over the batch only, `axis=1, keepdims=True`. The verdict's "first wrong
        layer from the output" counts down from the output: here layer 2, the output layer
        (`b2`). That is where to start looking.

        The diagnosis column runs far off the right of the table. The report is data too, so a
        program (or this notebook) can act on it; the cell below prints each failing parameter's
        diagnosis wrapped: read it there.
        """
    ),
    code(
        """
        assert report.verdict == "fail" and not report.ok
        for key, result in report.parameters.items():
            print(f"{key}: {result.verdict:<5} {result.diagnosis.kind or ''}")
            if result.verdict == "fail":
                print(textwrap.indent(textwrap.fill(result.diagnosis.detail, 86), "    "))
        assert report.parameters["W1"].verdict == report.parameters["W2"].verdict == "pass"
        assert report.parameters["b1"].diagnosis.kind == "wrong-axis"
        assert report.parameters["b2"].diagnosis.kind == "wrong-axis"
        """
    ),
    md(
        """
        ## Fix it and check again

        The same function, with the two bias sums over the examples (`axis=1`) kept as columns:
        """
    ),
    code(
        BACKWARD_PROP.format(
            suffix="_fixed",
            doc="Document 002's backward pass, the bias gradients summed over the examples.",
            axis=", axis=1, keepdims=True",
        )
    ),
    code(
        """
        report = handgrad.check_gradients(backward_prop_fixed, "relu-softmax-column", (784, 10, 10))
        print(report)
        assert report.ok
        """
    ),
    md(
        """
        ## In your own tests

        `handgrad.testing.assert_gradients_match` runs the same check and raises an
        `AssertionError` carrying the report when a gradient is wrong, so a pytest test is one line:

        ```python
        def test_my_backprop():
            assert_gradients_match(backward_prop_fixed, "relu-softmax-column", (784, 10, 10))
        ```
        """
    ),
    code(
        """
        assert_gradients_match(backward_prop_fixed, "relu-softmax-column", (784, 10, 10))  # quiet

        try:
            assert_gradients_match(backward_prop, "relu-softmax-column", (784, 10, 10))
        except AssertionError as error:  # its message: "gradients do not match:", then the report
            print(next(line for line in str(error).splitlines() if line.startswith("verdict:")))
        else:
            raise AssertionError("the broken backward pass should have failed")
        """
    ),
    md(
        """
        From the command line, the same check of a function in a file (see the README, "Check your
        own gradient"). `examples/my_gradient.py` holds `backward_prop_fixed`, named
        `backward_prop` there; from the repository root:

        ```console
        $ handgrad check examples/my_gradient.py:backward_prop --model relu-softmax-column --sizes 784,10,10
        ```

        """
    ),
    md(
        """
        ## Other slips, and what the checker says

        Below, six one-line edits of `backward_prop_fixed`, each checked in turn: for each you will
        see the verdict and, for every parameter that fails, its name, the diagnosis's kind and its
        detail.
        """
    ),
    code(
        """
        source = inspect.getsource(backward_prop_fixed)
        SLIPS = {  # what the slip is: (the right text, what was written instead)
            "* ReLU_deriv(Z1) left out": (" * ReLU_deriv(Z1)", ""),
            "W2.dot(dZ2) for W2.T.dot(dZ2)": ("W2.T.dot(dZ2)", "W2.dot(dZ2)"),
            "returned as (dW2, db2, dW1, db1)": ("return dW1, db1, dW2, db2", "return dW2, db2, dW1, db1"),
            "returned as float32 arrays": (
                "return dW1, db1, dW2, db2",
                "return [g.astype(np.float32) for g in (dW1, db1, dW2, db2)]",
            ),
            "dW2 without its 1 / m": ("dW2 = 1 / m * ", "dW2 = "),
            "an epsilon added to softmax's output": ("A2 = softmax(Z2)", "A2 = softmax(Z2) + 1e-8"),
        }
        kinds = {}
        for slip, (right, wrong) in SLIPS.items():
            assert source.count(right) == 1, slip  # exactly one place to edit
            namespace = {}
            exec(source.replace(right, wrong), globals(), namespace)  # the edited function
            checked = handgrad.check_gradients(
                namespace["backward_prop_fixed"], "relu-softmax-column", (784, 10, 10)
            )
            print(f"{slip}: {checked.verdict}")
            for key, result in checked.parameters.items():
                if result.verdict == "fail":
                    line = f"{key}, {result.diagnosis.kind}, {result.diagnosis.detail}"
                    print(textwrap.fill(line, 90, initial_indent="  ", subsequent_indent="      "))
            kinds[slip] = {r.diagnosis.kind for r in checked.parameters.values() if r.verdict == "fail"}

        expected = ("known-bug", "known-bug", "order", "precision", "scale", "approximate")
        assert list(kinds.values()) == [{kind} for kind in expected]
        """
    ),
    md(
        """
        Try other slips in `backward_prop_fixed` and read what the checker says: write `Y - A2`
        for `A2 - Y` (the sign of 002's $dA^{[2]} = Y - A^{[2]}$), sum `db2` over `axis=0`, or
        return `dW1.T` for `dW1`.
        """
    ),
]

# --- 5: train MNIST -------------------------------------------------------------------------------

# The README's full run of relu-softmax-column (500 iterations, 41,000 images, seed 0): train, dev
# and test accuracy, quoted in notebook 5 (tests/test_notebooks.py checks them against the README).
FULL_RUN = ("84.62%", "81.30%", "85.45%")

TRAIN = [
    md(
        """
        # 5 · Train on MNIST, with the gradient checked first

        Document 002 trains its 784-10-10 network (ReLU, softmax) by full-batch gradient descent:
        500 iterations with learning rate 0.10 on 41,000 training images. It reports about
        **85 % training accuracy and 84 %** on 1,000 held-out images.

        `handgrad.train.train` runs that recipe, after **the gate**: the gradient is checked against JAX
        autodiff and finite differences first, and training refuses to start if it is wrong.

        So that this notebook runs in seconds (it runs in CI), we train for 100 iterations on the
        first 10,000 images. For 002's full run set `ITERATIONS, TRAIN_SIZE = 500, 41_000`, or run
        `handgrad train --recipe relu-softmax-column --out runs/002` (the README's command), which
        writes the same figures to files.
        """
    ),
    code(
        """
        # Show the figures below the cells (handgrad.figures draws them without pyplot)
        %matplotlib inline
        import handgrad
        from handgrad import data, figures
        from handgrad.train import train

        ITERATIONS, TRAIN_SIZE = 100, 10_000  # document 002: 500 iterations on 41,000 images
        recipe = handgrad.get_recipe(
            "relu-softmax-column", iterations=ITERATIONS, train_size=TRAIN_SIZE, test_predictions=16
        )
        print("reported:", recipe.reported)
        print("002's recipe, our choices:", recipe.choices)
        print(
            f"this run: {recipe.iterations} iterations on the first {recipe.train_size:,} images, "
            f"dev the next {recipe.dev_size:,}, in float32 (002 computes in float64)"
        )
        """
    ),
    md(
        """
        ## Train

        The dev split is the 1,000 images after the training images (002 drew its 1,000 at random
        from Kaggle's shuffled data). The gate's line says what it checked: the gradient the
        training loop computes (the column formulation as handgrad's fast engine evaluates it),
        on 32 training images. It does so in float64 and at the initial parameters, which the
        line does not say; training then runs in float32. The gate's verdict is in
        `result.gate`.
        """
    ),
    code(
        """
        result = train(recipe, seed=0, progress=False, log=print)
        assert result.gate["verdict"] == "pass"  # the gradient was checked before the first step
        print(f"{result.steps} steps in {result.train_seconds:.1f} s")
        """
    ),
    md(
        """
        ## Curves

        The loss (cross-entropy) and the accuracy, every 10 steps:
        """
    ),
    code(
        """
        history = result.history
        assert history["loss"][-1] < history["loss"][0]  # it learned
        figures.curves(
            history, recipe.name, "training loss (cross-entropy)", recipe.train_size, recipe.dev_size
        )
        """
    ),
    md(
        """
        ## Compared with document 002

        After a fifth of 002's iterations, on a quarter of its images, the accuracy is still
        climbing steeply (see the curve); 002's numbers are for the full 500 iterations on 41,000
        images. The middle row is handgrad's full run with seed 0, as the README reports it (its dev
        split is a different 1,000 images from 002's).

        002's numbers also come from its own code, on Kaggle's copy of MNIST: there `np.sum(dZ2)`
        (no axis) is always zero (notebook 3), so $b^{[2]}$ never learned. handgrad trains with the
        corrected gradient on MNIST itself.
        """
    ),
    code(
        """
        # the README's full run: 500 iterations on 41,000 images, seed 0
        full_run = FULL_RUN
        print(f"{'':<44}{'train':>8}{'dev':>8}{'test':>8}")
        print(f"{'document 002: 500 iterations, 41,000 images':<44}{'85%':>8}{'84%':>8}{'-':>8}")
        print(f"{'handgrad: 500 iterations, 41,000 images':<44}" + "".join(f"{a:>8}" for a in full_run))
        here = f"here: {result.steps} iterations, {recipe.train_size:,} images"
        accuracies = (result.train_accuracy, result.dev_accuracy, result.test_accuracy)
        print(f"{here:<44}" + "".join(f"{a:>8.1%}" for a in accuracies))
        assert min(accuracies) > 0.5  # far above chance (10 %) already
        """.replace("FULL_RUN", "(" + ", ".join(f'"{a}"' for a in FULL_RUN) + ")")
    ),
    md(
        """
        ## Where it goes wrong

        The confusion matrix on the 10,000 test images: row = the true digit, column = the
        prediction. Off the diagonal are the mistakes.
        """
    ),
    code(
        """
        test = data.load("mnist", "test")
        figures.confusion(test.labels, result.test_predictions, recipe.name)
        """
    ),
    md("Some test digits with the network's prediction (red: wrong):"),
    code(
        """
        figures.samples(
            test.images, test.labels, result.test_predictions, result.sample_indices, title=recipe.name
        )
        """
    ),
    md(
        """
        ## What the hidden units look at

        Each of the 10 hidden units has 784 incoming weights, one per pixel: drawn as a 28 × 28
        image, and below them how much training changed them. The units are numbered from 0, as in
        the checker's reports. The top row looks like noise: the weights start uniform on
        [−0.5, 0.5] (002's initialisation), and the 100 steps here change them by about ±0.1, which that
        noise swamps. The strokes are in the bottom row.
        """
    ),
    code(
        """
        figures.weights(result.params["W1"], "column", result.initial_params["W1"], title=recipe.name)
        """
    ),
    md(
        """
        ## Try

        - `handgrad.get_recipe("elu-softmax-column")`: document 004's ELU network.
        - `train(recipe, formulation="row")`: the same training with the row-major
          formulation (notebook 2); the gate checks that one instead.
        - `train(recipe, verify_every=10)`: re-check the gradient along random directions
          every 10 steps while training (silent unless a check fails, which raises
          `handgrad.train.VerificationError`).
        """
    ),
]

NOTEBOOKS = {
    "01_per_neuron_chain_rule": PER_NEURON,
    "02_row_major_batch": ROW_MAJOR,
    "03_column_major_batch": COLUMN_MAJOR,
    "04_check_your_own_gradient": CHECK_YOUR_OWN,
    "05_train_mnist": TRAIN,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook called `name`, without outputs, with stable cell ids."""
    cells = []
    for i, (kind, source) in enumerate(NOTEBOOKS[name]):
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        cell["id"] = f"cell-{i:02d}"
        cells.append(cell)
    notebook = new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    """The text of notebooks/`name`.ipynb."""
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str]) -> int:
    """Write every notebook, or with --check report the ones that differ; 1 if any does."""
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        text = render(name)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_text(text, encoding="utf-8")
    verb = "out of date" if check else "written"
    print(f"{verb}: {', '.join(stale)}" if stale else "all notebooks up to date")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
