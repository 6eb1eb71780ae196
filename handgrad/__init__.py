"""handgrad: hand-derived backpropagation for MNIST networks, verified two independent ways.

The gradients are derived by hand in three formulations (`per_neuron`, `row_major`, `column_major`)
and checked against JAX autodiff and finite differences (`reference/`). Public API:

    model = handgrad.parse_model("relu-softmax-column", (784, 10, 10))
    params = handgrad.init_params(model, np.random.default_rng(0))
    grads = handgrad.gradients(model, params, X, Y, formulation="per-neuron")
    report = handgrad.check_gradients(my_grad_fn, model, ...)
    result = handgrad.train.train(handgrad.get_recipe("002"))   # handgrad.train is the module

`import handgrad` imports nothing else: each public name, and each submodule (`handgrad.models`,
`handgrad.train`), is imported on first use (PEP 562). The `handgrad` command's Ctrl-C handler
exists only once `handgrad.cli.main` runs, so whatever this file imported ran before it and a
Ctrl-C there was a traceback; NumPy and SciPy alone took half a second.
"""

_DEFINED_IN = {  # module -> the public names it defines; each is imported on first use
    "handgrad.activations": ("Activation", "elu", "identity", "relu", "sigmoid", "softmax"),
    "handgrad.check": ("CheckReport", "check_gradients"),
    "handgrad.formulations": (
        "FORMULATIONS",
        "backward",
        "forward",
        "get_formulation",
        "gradients",
        "loss",
        "predict",
        "predict_proba",
    ),
    "handgrad.losses": ("Loss", "get_loss"),
    "handgrad.models": ("Model", "init_params", "parse_model", "parse_sizes", "transpose_params"),
    "handgrad.recipes": ("RECIPES", "Recipe", "get_recipe"),
    "handgrad.tolerances": ("TOLERANCES", "Tolerance", "relative_error", "tolerance"),
    "handgrad.train": ("TrainResult",),
}
_LAZY = {name: module for module, names in _DEFINED_IN.items() for name in names}


def _submodules() -> list[str]:
    """The names of handgrad's submodules and subpackages (`models`, `train`, `commands`, ...)."""
    import pkgutil

    return [module.name for module in pkgutil.iter_modules(__path__) if module.name[0] != "_"]


def __getattr__(name: str):
    """Import a public name's module, or a submodule, on first use (module attribute fallback)."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)  # not cached: never stale
    if name in _submodules():  # never `__main__`, which would run the command line
        return importlib.import_module(f"handgrad.{name}")  # which sets handgrad.<name>
    raise AttributeError(f"module 'handgrad' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names and the submodules, imported or not, beside what is already bound."""
    return sorted({*globals(), *__all__, *_submodules()})


__all__ = [
    "FORMULATIONS",
    "RECIPES",
    "TOLERANCES",
    "Activation",
    "CheckReport",
    "Loss",
    "Model",
    "Recipe",
    "Tolerance",
    "TrainResult",
    "backward",
    "check_gradients",
    "elu",
    "forward",
    "get_formulation",
    "get_loss",
    "get_recipe",
    "gradients",
    "identity",
    "init_params",
    "loss",
    "parse_model",
    "parse_sizes",
    "predict",
    "predict_proba",
    "relative_error",
    "relu",
    "sigmoid",
    "softmax",
    "tolerance",
    "transpose_params",
]
