"""A layered problem -> a standalone PyTorch script that reproduces its solution (`handprop export`).

The script builds the nn.Sequential (float64, the problem's weights written exactly), the data, the loss
and the torch.optim optimizer, takes the optimizer's full-batch steps as `handprop solve` does, and prints
one JSON document: loss (at the initial parameters), loss_after, and each parameter's gradient (at the
initial parameters) and updated value, under handprop's parameter names. It needs only torch.
"""

from __future__ import annotations

from .interop import architecture, data_rows, parameter_places, torch_loss_code, trained_tensors

_OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def _literal(value) -> str:
    """A Python literal that reads back as exactly the same numbers."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    return repr(value)


def torch_script(problem) -> str:
    """The PyTorch script, as text.

    >>> from handprop import load
    >>> script = torch_script(load("homework"))
    >>> "torch.nn.functional.cross_entropy(output, T)" in script and "lr=0.5" in script
    True
    """
    from ..problem import layered

    modules_of = architecture(problem)  # first: it refuses an equations-form problem
    rows, bias_rows = layered.weight_rows(problem.network), layered.bias_names(problem.network)
    modules, copies = [], []
    for position, (kind, *arguments) in enumerate(modules_of):
        if kind == "Linear":
            fan_in, units, index = arguments
            modules.append(f"    torch.nn.Linear({fan_in}, {units}{'' if bias_rows[index] else ', bias=False'}),")
            weight = [[problem.parameters[w] for w in row] for row in rows[index]]
            copies.append(f"    model[{position}].weight.copy_(torch.tensor({_literal(weight)}))")
            if bias_rows[index]:
                bias = [problem.parameters[b] for b in bias_rows[index]]
                copies.append(f"    model[{position}].bias.copy_(torch.tensor({_literal(bias)}))")
        else:
            settings = ", ".join(f"{attribute}={value!r}" for attribute, value in arguments[0].items())
            modules.append(f"    torch.nn.{kind}({settings}),")
    x, t = data_rows(problem)
    config = problem.optimizer
    kept = trained_tensors(problem)
    every = {(position, tensor) for position, tensor, _ in parameter_places(problem).values()}
    trained = ("model.parameters()" if len(kept) == len(every)
               else "[" + ", ".join(f"model[{position}].{tensor}" for position, tensor in kept) + "]")
    options = "".join(f", {key}={_literal(value)}" for key, value in config.options.items())
    places = ",\n".join(f"    {name!r}: ({m}, {kind!r}, {index!r})"
                        for name, (m, kind, index) in parameter_places(problem).items())
    return "\n".join([
        f'"""{_docstring_text(problem.title)}, in PyTorch (written by `handprop export --to torch`).',
        "",
        "Prints JSON: the loss at the initial parameters, the loss after the steps, and for each parameter",
        'its gradient at the initial parameters and its value after the steps, under handprop\'s names."""',
        "",
        "import json",
        "",
        "import torch",
        "",
        "torch.set_default_dtype(torch.float64)",
        "",
        "model = torch.nn.Sequential(",
        *modules,
        ")",
        "with torch.no_grad():",
        *copies,
        "",
        f"X = torch.tensor({_literal(x)})  # (batch, inputs)",
        f"T = torch.tensor({_literal(t)})  # (batch, outputs)",
        "",
        "",
        "def loss_function(output, T):",
        f"    return {torch_loss_code(problem)}  # the batch mean",
        "",
        "",
        f"optimizer = torch.optim.{_OPTIMIZER_CLASSES[config.name]}({trained}, lr={config.lr!r}{options})",
        f"steps = {config.steps}",
        "",
        "# handprop's name of each parameter -> (module in the model, weight or bias, index)",
        "PARAMETERS = {",
        places + ",",
        "}",
        "",
        "",
        "def values(kind):",
        "    tensors = {name: getattr(model[m], tensor) for name, (m, tensor, index) in PARAMETERS.items()}",
        "    return {name: (tensors[name].grad if kind == 'grad' else tensors[name])[PARAMETERS[name][2]].item()",
        "            for name in PARAMETERS}",
        "",
        "",
        "for step in range(steps):",
        "    optimizer.zero_grad()",
        "    loss = loss_function(model(X), T)",
        "    loss.backward()",
        "    if step == 0:",
        "        first_loss, gradients = loss.item(), values('grad')",
        "    optimizer.step()",
        "with torch.no_grad():",
        "    loss_after = loss_function(model(X), T).item()",
        'print(json.dumps({"loss": first_loss, "loss_after": loss_after, "gradients": gradients,',
        '                  "updated": values("value")}, indent=2))',
        "",
    ])


def _docstring_text(title: str) -> str:
    return " ".join(title.replace("\\", "/").replace('"""', "'''").split()) or "A handprop problem"
