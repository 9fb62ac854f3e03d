"""Renderers: records in, text out. They format; they never compute."""

import sys

from ..core.errors import HandpropError, check_choice, check_decimals, check_whole, described

FORMATS = ("table", "markdown", "csv", "json")


def render(solution, *, format: str = "table", decimals: int | None = None, nodes: bool = False,
           step: int | str | None = None) -> str:
    """Render a Solution in one of FORMATS; with step k (1 to the steps taken), that step's table: the values
    before it, its gradients and the values after it; with step "all", one table per step.

    >>> from handprop import load, solve
    >>> print(render(solve(load("homework")), format="csv").splitlines()[0])
    name,initial,gradient,updated
    """
    _check_solution(solution)
    check_choice(format, FORMATS, "format")
    check_decimals(decimals)
    steps = _steps(solution, step, format, nodes)
    if format == "json":
        from .json import render_json

        return render_json(solution)
    from .table import render_csv, render_markdown, render_text

    renderer = {"table": render_text, "markdown": render_markdown, "csv": render_csv}[format]
    if steps == [None]:
        return renderer(solution, decimals=decimals, nodes=nodes)
    return "\n".join(renderer(solution, decimals=decimals, nodes=nodes and k == 1, step=k) for k in steps)


def _steps(solution, step, format: str, nodes: bool) -> list:
    """The steps a table shows: [None] for the whole run, else their numbers."""
    if step is None:
        return [None]
    if format == "json":
        raise HandpropError(None, "--step", "JSON holds every step already (steps[k])", "a table format, or no --step")
    if not solution.trained:
        raise HandpropError(None, "--step", "the problem has no optimizer, so it takes no step",
                            "an [optimizer] section, or no --step")
    if step == "all":
        return list(range(1, solution.steps + 1))
    check_whole(step, "--step", 1, solution.steps, optional=False)
    if nodes and step != 1:
        raise HandpropError(None, "--nodes", "the nodes are worked out at the initial parameters, step 1's",
                            "--step 1, or no --nodes")
    return [step]


EXPLAIN_FORMATS = ("markdown", "latex", "pdf", "html")
NOTATIONS = ("scalar", "matrix")  # the worked solution unit by unit, or layer by layer in matrices
DIAGRAM_SHOWS = ("names", "values", "gradients", "updates")
DIAGRAM_BIASES = ("units", "nodes")


def diagram(solution, *, show: str = "names", bias: str = "units", decimals: int | None = None) -> str:
    """The network as an SVG diagram: a layered network's units and weights, or an equation problem's
    computation graph; values, gradients or updates on it as `show` says.

    >>> from handprop import load, solve
    >>> diagram(solve(load("homework"))).startswith("<svg")
    True
    """
    from .numbers import DEFAULT_DECIMALS
    from .svg import render_svg

    _check_solution(solution)
    check_choice(show, DIAGRAM_SHOWS, "show")
    check_choice(bias, DIAGRAM_BIASES, "bias")
    check_decimals(decimals)

    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    if solution.problem.network is not None:
        from .diagram_layered import layered_scene

        return render_svg(layered_scene(solution, show=show, bias=bias, decimals=places))
    if solution.problem.stack is not None:
        from .diagram_kinds import kinds_scene

        return render_svg(kinds_scene(solution, show=show, decimals=places))
    from .diagram_graph import graph_scene

    return render_svg(graph_scene(solution, show=show, decimals=places))


def explain(solution, *, format: str = "markdown", decimals: int | None = None, expand: bool = False,
            sample: int = 1, notation: str = "scalar", step: int | None = None, inputs: bool = False,
            toc: bool | None = None) -> str | bytes:
    """The worked solution in one of EXPLAIN_FORMATS (PDF as bytes, the others as text); `notation` "matrix"
    writes a layered network layer by layer in matrices and vectors (h = W x + b), "scalar" unit by unit.
    Every step's update is written (up to 50), or only `step`'s; `inputs` adds the data's gradients. In LaTeX and
    PDF, a table of contents opens a long document, or any with `toc` True (none with False).

    >>> from handprop import load, solve
    >>> explain(solve(load("homework"))).splitlines()[0]
    '# Machine Learning Homework 1'
    >>> "bmatrix" in explain(solve(load("homework")), notation="matrix")
    True
    """
    from .derivation import build

    _check_solution(solution)
    check_choice(format, EXPLAIN_FORMATS, "format")
    check_decimals(decimals)
    check_whole(sample, "sample", -sys.maxsize, optional=False)  # the range is the problem's: build() checks it
    check_choice(notation, NOTATIONS, "notation")
    check_whole(step, "step", 1)
    if not isinstance(inputs, bool):
        raise HandpropError(None, "inputs", f"is {described(inputs)}", "True or False")
    more = {key: value for key, value in (("step", step), ("inputs", inputs)) if value}
    if notation == "matrix" and solution.problem.stack is not None:  # a network of layer kinds
        from .derivation_matrix_kinds import build_matrix_kinds as build
    elif notation == "matrix":
        from .derivation_matrix import build_matrix as build
    figure = diagram(solution, show="values", decimals=decimals) if format == "html" else None
    document = build(solution, decimals=decimals, expand=expand, sample=sample, figure=figure, **more)
    if format == "markdown":
        from .explain_markdown import render_markdown_document

        return render_markdown_document(document)
    if format == "html":
        from .explain_html import render_html_document

        return render_html_document(document)
    from .explain_latex import render_latex_document
    from .numbers import DEFAULT_DECIMALS
    from .tikz import figure_tikz

    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    latex = render_latex_document(document, figure=figure_tikz(solution, decimals=places), toc=toc)
    if format == "latex":
        return latex
    from .pdf import latex_to_pdf

    return latex_to_pdf(latex)


def _check_solution(solution) -> None:
    if not all(hasattr(solution, name) for name in ("problem", "parameters", "traces")):
        raise HandpropError(None, "solution", f"is {described(solution)}",
                            "a Solution, as handprop.solve makes")
