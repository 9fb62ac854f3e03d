"""Renderers: records in, text out. They format; they never compute."""

FORMATS = ("table", "markdown", "csv", "json")


def render(solution, *, format: str = "table", decimals: int | None = None, nodes: bool = False) -> str:
    """Render a Solution in one of FORMATS.

    >>> from handprop import load, solve
    >>> print(render(solve(load("homework")), format="csv").splitlines()[0])
    name,initial,gradient,updated
    """
    if format == "json":
        from .json import render_json

        return render_json(solution)
    from .table import render_csv, render_markdown, render_text

    renderer = {"table": render_text, "markdown": render_markdown, "csv": render_csv}[format]
    return renderer(solution, decimals=decimals, nodes=nodes)
