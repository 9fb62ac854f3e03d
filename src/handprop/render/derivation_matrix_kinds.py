"""Records -> the worked solution of a network of layer kinds in matrix form, as a Document.

The course-style form of a stack (derivation_kinds.py) writes each output entry by entry; this one writes a
layer at a time in matrices, as a course that teaches backpropagation with matrices does:

dense layers, convolutions (over their unfolded patches, im2col), pooling and flatten in
derivation_matrix_kinds_grids.py; recurrent layers, normalisations, dropout and attention in
derivation_matrix_kinds_more.py.

The problem, the loss and the Result are the course-style form's, the update each tensor as a matrix
(derivation_matrix_kinds_update.py); a layer of a kind not written
here keeps its course-style subsection, and a network whose layers cannot be found in the program (a
batch-norm, lowered over the whole batch) keeps the course-style document whole, said so at its top. Every
number is a record (values, local partials, adjoints, gradients): products are written with their factors and
the recorded result, never computed here.
"""

from __future__ import annotations

from ..core.errors import HandpropError
from .derivation_kinds_grids import layers_of
from .derivation_matrix_kinds_batch import MatrixKindsBatch, batch_layers
from .derivation_matrix_kinds_more import MatrixKindsMore
from .document import Document, Paragraph
from .numbers import DEFAULT_DECIMALS


def build_matrix_kinds(solution, *, decimals: int | None = None, expand: bool = False, sample: int = 1,
                       figure: str | None = None, step: int | None = None, inputs: bool = False) -> Document:
    """The worked solution of a solved network of layer kinds in matrix form, as a Document.

    >>> from handprop import load, solve
    >>> document = build_matrix_kinds(solve(load("cnn_homework")))
    >>> [s.anchor for s in document.sections]
    ['problem', 'forward', 'loss', 'backward', 'update', 'result']
    """
    from .derivation import build

    problem = solution.problem
    if expand:
        raise HandpropError(problem.source, "--expand", "the matrix form writes each gradient as a product of "
                            "matrices, not written out in full", "leave out --expand, or use --notation scalar")
    course = build(solution, decimals=decimals, sample=sample, figure=figure, step=step, inputs=inputs)
    layers = layers_of(problem)
    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    if layers is None:
        batch = batch_layers(problem) if getattr(problem, "stack", None) is not None else None
        if batch is not None:  # batch-norm: the whole batch is one program (derivation_matrix_kinds_batch.py)
            return MatrixKindsBatch(solution, batch, places, inputs, step).document(course)
        note = Paragraph(("This network's layers could not be set out one by one as matrices (a layer such as "
                          "batch normalisation is worked out over the whole batch at once), so each value is "
                          "written node by node below.",))
        return Document(course.title, course.summary + (note,), course.sections)
    writer = MatrixKindsMore(solution, layers, places, sample - 1, inputs, step)
    return writer.document(course)
