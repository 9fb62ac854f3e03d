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


EXPLAIN_FORMATS = ("markdown", "latex", "pdf", "html")


def explain(solution, *, format: str = "markdown", decimals: int | None = None, expand: bool = False,
            sample: int = 1) -> str | bytes:
    """The worked solution in one of EXPLAIN_FORMATS (PDF as bytes, the others as text).

    >>> from handprop import load, solve
    >>> explain(solve(load("homework"))).splitlines()[0]
    '# Machine Learning Homework 1'
    """
    from .derivation import build

    document = build(solution, decimals=decimals, expand=expand, sample=sample)
    if format == "markdown":
        from .explain_markdown import render_markdown_document

        return render_markdown_document(document)
    if format == "html":
        from .explain_html import render_html_document

        return render_html_document(document)
    from .explain_latex import render_latex_document

    latex = render_latex_document(document)
    if format == "latex":
        return latex
    from .pdf import latex_to_pdf

    return latex_to_pdf(latex)
