"""What every matplotlib figure handprop draws shares: loading pyplot (one line of error without matplotlib)
and writing the figure whole or not at all."""

from __future__ import annotations


def pyplot(path: str):
    """matplotlib.pyplot, on the Agg backend; without matplotlib, a one-line error naming the file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from ..core.errors import HandpropError

        raise HandpropError(path, None, "plotting needs matplotlib", "pip install 'handprop[plot]'") from None
    return plt


def save_figure(plt, figure, path: str) -> None:
    """The figure to path, PNG or SVG by its extension (PNG without one), then closed."""
    import io
    import os

    from ..problem.files import write_file

    # Drawn into memory first: savefig writing the file itself leaves an empty or partial one when it fails.
    image = io.BytesIO()
    try:
        figure.savefig(image, format=path.rpartition(".")[2].lower() if "." in os.path.basename(path) else "png")
    finally:
        plt.close(figure)
    write_file(path, image.getvalue())
