"""A decision boundary (boundary.py's grid) to a PNG or SVG with matplotlib: the plane shaded by the predicted
probabilities, the line where the predicted class changes, and the data points coloured by their class."""

from __future__ import annotations

# Each class's colour: the points' (strong) and the plane's, a mix of them weighted by the probabilities.
CLASS_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")
PLANE_LIGHTNESS = 0.55  # the plane's colours are the class colours this far towards white


def plot_boundary(grid, path: str, *, title: str | None = None) -> None:
    """Draw grid (a boundary.BoundaryGrid) to path, PNG or SVG by its extension; written whole or not at all."""
    import numpy as np

    from .plots import pyplot, save_figure

    plt = pyplot(path)
    from matplotlib.colors import to_rgb

    count = len(grid.classes)
    colours = np.array([to_rgb(CLASS_COLOURS[k % len(CLASS_COLOURS)]) for k in range(count)])  # (classes, 3)
    plane = grid.probabilities @ colours  # (rows, columns, 3): the colours mixed by probability
    plane = plane + PLANE_LIGHTNESS * (1.0 - plane)
    figure, axes = plt.subplots(figsize=(6, 5.4), dpi=120)
    extent = (grid.x[0], grid.x[-1], grid.y[0], grid.y[-1])
    axes.imshow(np.clip(plane, 0, 1), origin="lower", extent=extent, aspect="auto", interpolation="bilinear")
    predicted = grid.predicted
    if predicted.min() != predicted.max():  # the boundary: where the predicted class changes
        if count == 2:  # where the second class's probability crosses 1/2: a smooth line
            axes.contour(grid.x, grid.y, grid.probabilities[:, :, 1], levels=[0.5], colors="#111827", linewidths=1)
        else:
            axes.contour(grid.x, grid.y, predicted, levels=np.arange(count - 1) + 0.5, colors="#111827",
                         linewidths=1)
    for k, name in enumerate(grid.classes):
        mine = grid.labels == k
        size = 22 if len(grid.points) > 40 else 60  # a few points (xor's four) drawn larger
        axes.scatter(grid.points[mine, 0], grid.points[mine, 1], s=size, color=colours[k], edgecolors="white",
                     linewidths=0.7, label=name, zorder=3)
    axes.set_xlim(extent[0], extent[1])
    axes.set_ylim(extent[2], extent[3])
    axes.set_xlabel(grid.inputs[0])
    axes.set_ylabel(grid.inputs[1])
    if title:
        axes.set_title(title, fontsize=10)
    axes.legend(title="class", loc="best", framealpha=0.85, fontsize=8, title_fontsize=8)
    figure.tight_layout()
    save_figure(plt, figure, path)
