"""Frozen records of a solved problem: the only thing renderers read.

Numbers here are full precision; formatting is the renderers' business.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeRecord:
    name: str
    values: tuple  # one per sample
    gradients: tuple  # dL/dnode per sample, L the batch's mean loss (so each carries the 1/batch factor)


@dataclass(frozen=True)
class ParameterRecord:
    name: str
    initial: float
    gradient: float  # dL/dtheta at the initial parameters
    updated: float  # after all the optimizer's steps


@dataclass(frozen=True)
class StepRecord:
    """One optimizer step: the loss at its start, and the parameters after it."""

    loss: float
    parameters: dict  # name -> value after this step
    state: dict = field(default_factory=dict)  # parameter -> the optimizer's quantities after it (step 1 only)


@dataclass(frozen=True)
class Solution:
    """A solved problem: loss, outputs, every node and every parameter, and the raw traces."""

    title: str
    problem: object  # the Problem solved (kept for renderers: equations, names, settings)
    loss: float  # at the initial parameters (the batch mean)
    loss_after: float  # after all steps
    outputs: tuple  # output node names
    output_values: tuple  # per sample, a tuple of output values
    nodes: dict  # name -> NodeRecord
    parameters: dict  # name -> ParameterRecord
    traces: tuple  # per sample, scalar.SampleTrace at the initial parameters
    history: tuple  # of StepRecord, one per step
    decimals: int | None  # the problem's display precision, if it has one
    rounding: int | None = None  # worked out by hand: every intermediate value rounded to this many decimals

    @property
    def batch_size(self) -> int:
        return len(self.traces)

    @property
    def steps(self) -> int:
        return len(self.history)
