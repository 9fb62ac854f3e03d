"""The update of the matrix form: each parameter matrix through the optimizer's step, W' = W - gamma dL/dW.

Plain gradient descent is one line of matrices. Another optimizer's rule is written once in symbols (the
scalar form's, derivation_update.py), taken entry by entry; then each matrix's gradient, the optimizer's
own quantities after the step (the state it recorded for every entry, as the scalar form's lines show one
by one) and the matrix after it. Every number is a record: parameters before and after, gradients, state.
"""

from __future__ import annotations

from ..core.optim import OPTIMIZER_NAMES
from .derivation_backward import bracketed, chain
from .derivation_update import EXPLAIN_STEPS, EXPLAIN_UPDATES
from .document import Math, Paragraph, Section
from .matrices import primed
from .numbers import readable

# The optimizer's quantities (core/optim.py's state keys) as its rule names them.
STATE_SYMBOLS = {"g": "g", "b": "b", "m": "m", "v": "v", "v_max": r"v^{\max}", "m_hat": r"\hat m",
                 "v_hat": r"\hat v", "s": "s", "g_avg": r"\bar g", "d": "d", "lr_t": r"\gamma_t", "S": "S"}


class MatrixUpdate:
    """Mixed into the matrix form's builder (with derivation_update's UpdateSection, for the rule and the
    steps shown); uses its layers, solution and the layout of its numbers."""

    def update_section(self) -> Section:
        config = self.problem.optimizer
        name = OPTIMIZER_NAMES[config.name]
        words = {True: "yes", False: "no"}
        settings = ", ".join(f"{key.replace('_', ' ')} " + (words[value] if isinstance(value, bool) else
                                                          ", ".join(map(str, value)) if isinstance(value, tuple)
                                                          else f"{value:g}")
                             for key, value in config.options.items())
        intro = [Paragraph((name[0].upper() + name[1:] + " with learning rate ", Math(rf"\gamma = {config.lr:g}"),
                            (f" ({settings})" if settings and not config.is_plain_sgd else ""),
                            ", each step exactly as torch.optim takes it, entry by entry of every matrix: for "
                            "every parameter ", Math(r"\theta"), ", writing ",
                            Math(r"g = " + self.gradient_of(r"\theta")), ",")), Paragraph(self.rule_parts())]
        if not config.is_plain_sgd or config.frozen:
            intro.append(Paragraph(("Shown for each matrix: its gradient, the optimizer's quantities after the step "
                                    "(each entry's own, as the scalar form writes them one by one), and the matrix "
                                    "after it.",)))
        if config.frozen:
            intro.append(Paragraph(("Frozen, left out of the optimizer as torch.optim leaves a parameter it is not "
                                    "given: ", ", ".join(config.frozen), ". Their values never change (",
                                    Math(r"\text{--}"), " where a frozen entry has no optimizer quantity).")))
        steps, total = self.shown_steps(), self.solution.steps
        if total > 1 and len(steps) < total and self.step is None:
            intro.append(Paragraph((f"Of the {total} steps, " + " and ".join(f"step {k}" for k in steps) +
                                    f" are written out (at most {EXPLAIN_STEPS} steps, and {EXPLAIN_UPDATES:,} parameter updates); "
                                    "`--step K` writes step K.",)))
        blocks: list = []
        for k in steps:
            layers = [Section((f"Layer {layer.number}",), f"update-layer-{layer.number}" + (f"-{k}" if k > 1 else ""),
                              tuple(self.layer_update(layer, k)), level=3 if total == 1 else 4)
                      for layer in self.layers]
            if total == 1:
                blocks += layers
                continue
            heading = (Paragraph((f"Step 1 of {total}, with the gradients worked out above.",)) if k == 1 else
                       Paragraph((f"Step {k} of {total}, with the gradients at the parameters after step {k - 1}, "
                                  "where the loss is ", Math(self.n(self.solution.history[k - 1].loss)), ".")))
            blocks.append(Section((f"Step {k}",), f"update-step-{k}", (heading, *layers), level=3))
        return Section(("Update",), "update", tuple(intro + blocks))

    def rule_parts(self) -> tuple:
        """The optimizer's rule, one formula per quantity, so that a narrow page breaks the line between them."""
        pieces = self.rule().split(r",\ ")
        if any(piece.count("{") != piece.count("}") for piece in pieces):
            pieces = [self.rule()]
        parts: list = []
        for piece in pieces:
            parts += [Math(piece), ", "]
        return tuple(parts[:-1] + ["."])

    def layer_update(self, layer, k: int) -> list:
        blocks = self.update_blocks(layer, "W", layer.weights, k)
        if layer.biases:
            blocks += self.update_blocks(layer, "b", [[b] for b in layer.biases], k)
        return blocks

    def update_blocks(self, layer, key: str, rows: list, k: int) -> list:
        """One parameter matrix (rows of names) through step k; a shared bias as a number."""
        symbol = layer.symbols[key]
        suffix = f"{key}{layer.number}" + (f"-{k}" if k > 1 else "")
        scalar = key == "b" and layer.shared_bias
        history, records = self.solution.history, self.solution.parameters
        before = (lambda name: records[name].initial) if k == 1 else (lambda name: history[k - 2].parameters[name])
        gradient_of = (lambda name: records[name].gradient) if k == 1 else (lambda name: history[k - 1].gradients[name])

        def laid_out(value) -> str:
            if scalar:
                return value(rows[0][0])
            return self.matrix(len(rows), len(rows[0]), lambda i, j: value(rows[i][j]))

        initial = laid_out(lambda name: self.n(before(name)))
        gradient = laid_out(lambda name: self.n(gradient_of(name)))
        after = laid_out(lambda name: self.n(history[k - 1].parameters[name]))
        config = self.problem.optimizer
        frozen = any(name in config.frozen for row in rows for name in row)
        if config.is_plain_sgd and not frozen:
            step = rf"{config.lr:g} \cdot {bracketed(gradient)}" if scalar else f"{config.lr:g} {gradient}"
            return [chain(primed(symbol), [rf"{symbol} - \gamma {self.gradient_of(symbol)}",
                                           f"{bracketed(initial)} - {step}" if scalar else f"{initial} - {step}",
                                           after], f"update-{suffix}")]
        state = history[k - 1].state
        keys = list(dict.fromkeys(q for row in rows for name in row for q in state.get(name, {})))
        blocks = [chain(self.gradient_of(symbol), [gradient], f"update-gradient-{suffix}")]
        for quantity in keys:
            value = lambda name, q=quantity: (readable(state[name][q], self.decimals)  # noqa: E731
                                              if q in state.get(name, {}) else r"\text{--}")
            label = STATE_SYMBOLS.get(quantity, rf"\mathit{{{quantity}}}".replace("_", r"\_"))
            if "_" in label or "^" in label:
                label = "{" + label + "}"  # gamma_t of W: no double subscript
            blocks.append(chain(f"{label}_{{{symbol}}}", [laid_out(value)], f"state-{quantity}-{suffix}"))
        blocks.append(chain(primed(symbol), [after], f"update-{suffix}"))
        return blocks
