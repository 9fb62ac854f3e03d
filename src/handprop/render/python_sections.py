"""What the exported plain-Python script (python_script.py) writes before its steps and after them: its docstring,
the problem's values as named variables, the functions its ops and its optimizer call, the optimizer's state;
and the Result table it prints, as `handprop solve` prints it, every number in full (or, with --json, as JSON).
"""

from __future__ import annotations

import textwrap

WIDTH = 100  # a generated line longer than this is wrapped where it lists names


def head(writer) -> list[str]:
    """The script's docstring, imports, the problem's values, the functions it calls and the state before the steps."""
    problem, program, names = writer.problem, writer.program, writer.names
    optimizer = problem.optimizer
    batch = problem.batch_size > 1
    renamed = [name for name in (*program.parameters, *program.data, *program.nodes)
               if names[name] != name and name not in writer.fused.logs]
    doc = [(f'"""{docstring_text(problem.title)}, worked out in plain Python (written by `handprop export '
           f'--to python`).'), ""]
    what = ("The forward pass, the loss and every gradient by the chain rule" +
            (f", then {optimizer.steps} step{'s' * (optimizer.steps != 1)} of "
             f"{writer.update.words}" if writer.update else " (no optimizer: the gradients are the answer)") +
            (f", for a batch of {problem.batch_size} samples (the gradient of the batch's mean loss is the mean "
             "of the samples' gradients)" if batch else "") +
            ", as `handprop solve` works them out, and PyTorch in float64.")
    doc += paragraph(what)
    if renamed:
        doc += [""] + paragraph("Names that are not Python's are spelled with underscores: " + ", ".join(
            f"{name} is {names[name]}" for name in renamed[:4]) + (", and so on" if len(renamed) > 4 else "")
            + ". The Result table shows handprop's own names.")
    doc += [""] + paragraph("Run it with Python 3 alone: it prints the Result table of `handprop solve`, every "
                             "number in full; with --json, the same numbers as JSON.") + ['"""', ""]
    imports = sorted({"import json", "import math", "import sys", *writer.definitions.imports.values()},
                     key=lambda line: (line.startswith("from"), line))
    lines = doc + imports + ["", ""]
    lines += ["# -- The problem " + "-" * (WIDTH - 16), "", "# Parameters, at their initial values"]
    lines += [f"{names[p]} = {float(problem.parameters[p])!r}" + was(p, names[p]) for p in program.parameters]
    if batch:
        columns = ", ".join(names[d] for d in program.data)
        lines += ["", f"# Data: one row a sample, ({columns})", "samples = ["]
        rows = zip(*(problem.data[d] for d in program.data))
        lines += [f"    ({', '.join(repr(float(v)) for v in row)}{',' if len(program.data) == 1 else ''}),"
                  for row in rows]
        lines += ["]", "batch_size = len(samples)"]
    elif program.data:
        lines += ["", "# Data (one sample)"]
        lines += [f"{names[d]} = {float(problem.data[d][0])!r}" + was(d, names[d]) for d in program.data]
    if writer.update:
        lines += ["", f"# The optimizer: {writer.update.words}"]
        lines += [f"{name} = {value!r}" + (f"  # {comment}" if comment else "")
                  for name, value, comment in writer.update.settings()]
        lines.append(f"steps = {optimizer.steps}")
        if optimizer.frozen:
            lines.append(f"# frozen, never updated: {', '.join(names[p] for p in optimizer.frozen)}")
    definitions = writer.definitions
    functions = [source.rstrip("\n").split("\n") for source in definitions.functions.values()]
    if batch:
        functions.append(["def mean(values):", "    return math.fsum(values) / len(values)"])
    if writer.update and writer.update.function():
        functions.append(writer.update.function().rstrip("\n").split("\n"))
    lines += ["", ""]
    if definitions.constants or functions:
        title = "# -- Functions: each op as handprop's op table computes it (and PyTorch, in float64) "
        lines += [title + "-" * (WIDTH - len(title)), ""]
        if definitions.constants:
            lines += list(definitions.constants.values()) + ["", ""]
        for function in functions:
            lines += function + ["", ""]
    lines += ["# -- The worked solution " + "-" * (WIDTH - 24), ""]
    lines += wrapped("initial = {", [f"{p!r}: {names[p]}" for p in program.parameters], "}")
    if any(writer.state.values()):
        lines.append("# the optimizer's state, per parameter, zero before the first step")
        lines += [" = ".join(state) + " = 0.0" for state in writer.state.values()]
    return lines + [""]


def result(writer) -> list[str]:
    """The Result table, printed (or, with --json, its numbers as JSON)."""
    problem, program = writer.problem, writer.program
    trained = writer.update is not None
    optimizer = problem.optimizer
    batch = problem.batch_size
    loss_label = "loss" if trained or problem.network is not None else program.loss
    labels = ([f"out{i}" for i in range(1, len(program.outputs) + 1)] if problem.network is not None
              else list(program.outputs))
    if trained:
        steps = f"{optimizer.steps} step{'s' * (optimizer.steps != 1)}"
        frozen = f", {len(optimizer.frozen)} frozen" if optimizer.frozen else ""
        caption = f"{problem.title}: {optimizer.name}, lr {optimizer.lr:g}, {steps}"
        caption += (f", batch of {batch}" if batch > 1 else "") + frozen
    else:
        caption = f"{problem.title}: gradients only (no optimizer)" + (f", batch of {batch}" if batch > 1 else "")
    header = ("name", "initial", "gradient", "updated") if trained else ("name", "initial", "gradient")
    updated = "updated[name]" if trained else None
    lines = ["", "# -- Result " + "-" * (WIDTH - 12), "",
             "def print_table(caption, header, rows):",
             '    """The Result table as `handprop solve` prints it, every number in full (repr)."""',
             ('    cells = [list(header)] + [[name] + ["" if v is None else repr(v) for v in values] '
             "for name, *values in rows]"),
             "    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]",
             "    print(caption)",
             "    print()",
             "    for i, row in enumerate(cells):",
             "        cells_shown = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]",
             '        print("  ".join(cells_shown).rstrip())',
             "        if i == 0:",
             '            print("  ".join("-" * w for w in widths))',
             "", "",
             f"output_labels = {labels!r}",
             "rows = []",
             "for k, sample_outputs in enumerate(first_outputs, 1):",
             "    for label, value in zip(output_labels, sample_outputs):",
             f"        if label != {loss_label!r}:  # a function's value, which its own row shows",
             (f"            rows.append((label if len(first_outputs) == 1 else f\"{{label}} (sample {{k}})\", value"
             f"{', None' * (len(header) - 2)}))"),
             f"rows.append(({loss_label!r}, first_loss, None{', loss_after' if trained else ''}))",
             (f"rows += [(name, initial[name], gradients[name]{', ' + updated if trained else ''}) "
             "for name in initial]"),
             "",
             'if "--json" in sys.argv[1:]:',
             "    print(json.dumps({",
             f"        \"title\": {problem.title!r},",
             f"        \"batch_size\": {batch},",
             "        \"loss\": first_loss,",
             "        \"outputs\": [list(values) for values in first_outputs],",
             f"        \"loss_after\": {'loss_after' if trained else 'None'},",
             "        \"parameters\": {name: {\"initial\": initial[name], \"gradient\": gradients[name],",
             f"                               \"updated\": {updated}}} for name in initial}},",
             "    }, indent=2))",
             "else:",
             f"    print_table({caption!r}, {header!r}, rows)"]
    return lines


def was(name: str, spelled: str) -> str:
    """A comment with handprop's name, where the script spells it otherwise."""
    return f"  # {name}" if spelled != name else ""


def wrapped(prefix: str, items: list[str], suffix: str, *, single: bool = False) -> list[str]:
    """prefix item, item, ... suffix, on lines of at most WIDTH characters, continued lines indented."""
    if single and not prefix:
        items = [items[0] + ","]
    text = prefix + ", ".join(items) + suffix
    if len(text) <= WIDTH:
        return [text]
    opening = prefix or "("
    closing = suffix if prefix else ")" + suffix
    lines, current = [], ""
    for item in items:
        piece = item + ","
        if current and len(current) + 1 + len(piece) > WIDTH - 4:
            lines.append("    " + current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    lines.append("    " + current)
    return [opening] + lines + [closing.lstrip() if not prefix else closing]


def paragraph(text: str) -> list[str]:
    """Text wrapped to the script's width."""
    return textwrap.wrap(text, WIDTH)


def docstring_text(title: str) -> str:
    """A title as a line of the script's docstring: no backslash, no closing quotes."""
    return " ".join(title.replace("\\", "/").replace('"""', "'''").split()) or "A handprop problem"
