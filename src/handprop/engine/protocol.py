"""What an engine that takes many steps offers: the scalar engine and the NumPy engine alike."""

from __future__ import annotations

from typing import Protocol


from . import DTYPES, ENGINES  # noqa: F401 - the names of both, kept here for the readers of this module


class Engine(Protocol):
    """The interface of engine/scalar.py's ScalarEngine and engine/numpy_engine.py's NumpyEngine, which the
    solver and `train` use without knowing which they have (engine/choice.py picks one)."""

    name: str  # "scalar" or "numpy"

    def parameters(self) -> dict:
        """name -> current value, in the program's order."""

    def set_parameters(self, values: dict) -> None:
        """Set the named parameters (all or some of them)."""

    def snapshot(self):
        """Keep the current parameters; a token for parameters_of (only the latest is kept)."""

    def parameters_of(self, token) -> dict:
        """name -> value at the snapshot `token`."""

    def loss_and_gradients(self, rows=None) -> float:
        """The mean loss over the rows (None: every sample), keeping the gradients for step."""

    def first_non_finite(self) -> tuple | None:
        """The first parameter or last gradient that is not a finite number: (what, name, value), or None."""

    def optimizer_state(self, optimizer) -> dict:
        """name -> the optimizer's own quantities for that parameter after the last step."""

    def outputs(self, rows=None):
        """Per sample, the network's outputs at the current parameters."""

    def gradients(self) -> dict:
        """name -> dL/dname from the last loss_and_gradients."""

    def make_optimizer(self, config):
        """An Optimizer that works on this engine's own values."""

    def step(self, optimizer) -> None:
        """One optimizer step on every parameter, from the last gradients."""

    def outputs(self, rows=None):
        """The network's outputs, one row per sample."""

    def accuracy(self, rows=None) -> float | None:
        """The share of samples classified right; None for a regression."""
