"""A layered problem -> a standalone PyTorch script that reproduces its solution (`handprop export`).

The script builds the nn.Sequential (float64, the problem's weights written exactly), the data, the loss
and the torch.optim optimizer, takes the optimizer's full-batch steps as `handprop solve` does, and prints
one JSON document: loss (at the initial parameters), loss_after, and each parameter's gradient (at the
initial parameters) and updated value, under handprop's parameter names, and a batch-norm's running statistics
after the first step's forward pass (its nodes rmean{n}[c], rvar{n}[c]). A network with batch-norm (one program
over its batch in handprop) is given to torch as its batch, (batch, *input shape). It needs only torch: the wrappers
of pytorch/modules.py that a network of recurrent, attention or dropout layers uses are written into it, their
source copied.
"""

from __future__ import annotations

from .interop import (
    architecture,
    data_rows,
    input_shape,
    parameter_places,
    running_places,
    tensor_values,
    torch_loss_code,
    trained_tensors,
)

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
    modules, copies = [], []
    made = architecture(problem)  # first: it refuses an equations-form problem
    for position, module in enumerate(made):
        modules.append(f"    {_module_code(module)},")
        for attribute, shape, names in module.tensors:
            value = _nested(tensor_values(problem, names), shape)
            copies.append(f"    model[{position}].{attribute}.copy_(torch.tensor({_literal(value)}))")
    x, t = data_rows(problem)
    config = problem.optimizer
    kept = trained_tensors(problem)
    every = {(position, tensor) for position, tensor, _ in parameter_places(problem).values()}
    trained = ("model.parameters()" if len(kept) == len(every)
               else "[" + ", ".join(f"model[{position}].{tensor}" for position, tensor in kept) + "]")
    options = "".join(f", {key}={_literal(value)}" for key, value in config.options.items())
    places = ",\n".join(f"    {name!r}: ({m}, {kind!r}, {index!r})"
                        for name, (m, kind, index) in parameter_places(problem).items())
    running = running_places(problem)
    statistics = [
        "",
        "# batch-norm's running statistics, handprop's nodes -> (module in the model, buffer, index)",
        "RUNNING = {",
        *(f"    {name!r}: ({m}, {kind!r}, {index!r})," for name, (m, kind, index) in running.items()),
        "}",
        "",
    ] if running else []
    return "\n".join([
        f'"""{_docstring_text(problem.title)}, in PyTorch (written by `handprop export --to torch`).',
        "",
        "Prints JSON: the loss at the initial parameters, the loss after the steps, and for each parameter",
        'its gradient at the initial parameters and its value after the steps, under handprop\'s names."""',
        "",
        "import json",
        "from operator import attrgetter",
        "",
        "import torch",
        "",
        "torch.set_default_dtype(torch.float64)",
        "",
        *_wrapper_source(made),
        "model = torch.nn.Sequential(",
        *modules,
        ")",
        "with torch.no_grad():",
        *copies,
        "",
        f"X = torch.tensor({_literal(x)}).reshape(-1, {', '.join(map(str, input_shape(problem)))})  # (batch, "
        f"{'inputs' if problem.stack is None else 'input shape'})",
        f"T = torch.tensor({_literal(t)})  # (batch, outputs)",
        "",
        "",
        "def loss_function(output, T):",
        *(["    output = output.reshape(len(output), -1)  # (batch, outputs): the output grid in C order, as T"]
          if problem.stack is not None and len(problem.stack.output_shape) > 1 else []),
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
        "    tensors = {name: attrgetter(tensor)(model[m]) for name, (m, tensor, index) in PARAMETERS.items()}",
        "    return {name: (tensors[name].grad if kind == 'grad' else tensors[name])[PARAMETERS[name][2]].item()",
        "            for name in PARAMETERS}",
        "",
        *statistics,
        "",
        "for step in range(steps):",
        "    optimizer.zero_grad()",
        "    loss = loss_function(model(X), T)",
        "    loss.backward()",
        "    if step == 0:",
        "        first_loss, gradients = loss.item(), values('grad')",
        *(["        running = {name: getattr(model[m], buffer)[index].item() for name, (m, buffer, index) in "
           "RUNNING.items()}"] if running else []),
        "    optimizer.step()",
        "with torch.no_grad():",
        "    loss_after = loss_function(model(X), T).item()",
        'print(json.dumps({"loss": first_loss, "loss_after": loss_after, "gradients": gradients,',
        '                  "updated": values("value")' + (', "running": running' if running else '') + '}, indent=2))',
        "",
    ])


def _module_code(module) -> str:
    """A module's constructor call: torch.nn.<name>(...), or a wrapper's (handprop.<name>: its class is written
    into the script) around the module it wraps."""
    from ..problem.kinds.base import TorchModule

    settings = ", ".join(f"{key}={_module_code(value) if isinstance(value, TorchModule) else _literal(value)}"
                         for key, value in module.arguments.items())
    name = module.name.removeprefix("handprop.")
    return f"{name}({settings})" if name != module.name else f"torch.nn.{name}({settings})"


def _wrapper_source(modules: list) -> list:
    """The source of each wrapper class of pytorch/modules.py the model uses, copied whole (read as text, so
    torch is not imported here), so that the script needs only torch."""
    import ast
    from pathlib import Path

    used = {module.name.removeprefix("handprop.") for module in modules if module.name.startswith("handprop.")}
    if not used:
        return []
    text = Path(__file__).with_name("modules.py").read_text(encoding="utf-8")
    lines = ["# handprop's wrappers (handprop/pytorch/modules.py): nn.RNN, nn.LSTM, nn.GRU and nn.MultiheadAttention",
             "# as one tensor in, one tensor out, so that they sit in an nn.Sequential; dropout with a given mask", ""]
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name in used:
            lines += [ast.get_source_segment(text, node), "", ""]
    return lines


def _nested(values: list, shape: tuple):
    """A flat list in C order as nested lists of the shape."""
    if len(shape) <= 1:
        return list(values)
    size = len(values) // shape[0]
    return [_nested(values[k * size:(k + 1) * size], shape[1:]) for k in range(shape[0])]


def _docstring_text(title: str) -> str:
    return " ".join(title.replace("\\", "/").replace('"""', "'''").split()) or "A handprop problem"
