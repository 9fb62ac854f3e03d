"""The update step of the worked solution: theta' for every parameter, with the optimizer's own lines.

Plain gradient descent is one line, theta' = theta - gamma dL/dtheta. The other optimizers first write
their state for step 1 (weight decay, the momentum buffer, Adam's m, v and their bias corrections,
RMSprop's running square, Adagrad's sum), each in symbols, with numbers and as a value; all values are
the ones the optimizer recorded.
"""

from __future__ import annotations

from ..core.optim import OPTIMIZER_NAMES
from .derivation_backward import bracketed, chain, slug
from .document import Math, Paragraph, Section
from .mathtex import name_latex
from .numbers import readable, setting


def _squared(text: str) -> str:
    """A number squared: bracketed when it carries a sign or a power of ten (no double superscript)."""
    return rf"\left({text}\right)^2" if text.startswith("-") or "^" in text else f"{text}^2"


def _primed(symbol: str) -> str:
    return ("{" + symbol + "}'") if "^" in symbol else symbol + "'"  # W^{[1]}_{1,1}' is a double superscript


class UpdateSection:
    """Mixed into the derivation builder; uses its solution, problem and formatting."""

    def update_section(self) -> Section:
        config = self.problem.optimizer
        mean = self.mean_name() if self.batch > 1 else name_latex(self.loss)
        gradient = rf"\frac{{\partial {mean}}}{{\partial \theta}}"
        words = {True: "yes", False: "no"}
        settings = ", ".join(f"{key.replace('_', ' ')} " + (words[value] if isinstance(value, bool) else
                                                          ", ".join(map(str, value)) if isinstance(value, tuple)
                                                          else f"{value:g}")
                             for key, value in config.options.items())
        name = OPTIMIZER_NAMES[config.name]
        intro = [Paragraph((name[0].upper() + name[1:] + " with learning rate ", Math(rf"\gamma = {config.lr:g}"),
                            (f" ({settings})" if settings and not config.is_plain_sgd else ""),
                            ", each step exactly as torch.optim takes it: for every parameter ", Math(r"\theta"),
                            ", writing ", Math(r"g = " + gradient), ","))]
        intro.append(Paragraph((Math(self.rule()), ".")))
        if self.solution.steps > 1:
            intro.append(Paragraph((f"This is step 1 of {self.solution.steps}; the Result table gives the parameters "
                                    "after the last step.",)))
        blocks = []
        for name, record in self.solution.parameters.items():
            blocks.extend(self.update_chains(name, record, mean))
        return Section(("Update",), "update", tuple(intro + blocks))

    def rule(self) -> str:
        """The optimizer's update, in symbols (step t; state starting at 0)."""
        config = self.problem.optimizer
        wd = r"g \leftarrow g + \lambda \theta,\ " if config.option("weight_decay") and config.name != "adamw" else ""
        if config.name == "sgd":
            if not config.option("momentum"):
                return wd + r"\theta' = \theta - \gamma g"
            nesterov = r",\ g \leftarrow g + \mu b" if config.option("nesterov") else r",\ g \leftarrow b"
            return wd + r"b = g \text{ (step 1)},\ b = \mu b + (1 - \tau) g \text{ (later)}" + nesterov + \
                r",\ \theta' = \theta - \gamma g"
        if config.name in ("adam", "adamw"):
            decay = r"\theta \leftarrow \theta (1 - \gamma \lambda),\ " if config.name == "adamw" else ""
            return decay + wd + (r"m = \beta_1 m + (1 - \beta_1) g,\ v = \beta_2 v + (1 - \beta_2) g^2,\ "
                                 r"\hat m = \frac{m}{1 - \beta_1^t},\ \hat v = \frac{v}{1 - \beta_2^t},\ "
                                 r"\theta' = \theta - \gamma \frac{\hat m}{\sqrt{\hat v} + \epsilon}")
        if config.name == "rmsprop":
            d = (r"\bar g = \alpha \bar g + (1 - \alpha) g,\ d = \sqrt{s - \bar g^2} + \epsilon"
                 if config.option("centered") else r"d = \sqrt{s} + \epsilon")
            tail = (r"b = \mu b + g / d,\ \theta' = \theta - \gamma b" if config.option("momentum")
                    else r"\theta' = \theta - \gamma \frac{g}{d}")
            return wd + r"s = \alpha s + (1 - \alpha) g^2,\ " + d + r",\ " + tail
        return wd + (r"\gamma_t = \frac{\gamma}{1 + (t - 1)\eta},\ S = S + g^2,\ "
                     r"\theta' = \theta - \gamma_t \frac{g}{\sqrt{S} + \epsilon}")

    def update_chains(self, name: str, record, mean: str) -> list:
        config = self.problem.optimizer
        symbol = name_latex(name)
        state = self.solution.history[0].state.get(name, {})
        after = self.solution.history[0].parameters[name]
        n = self.n
        lr = f"{config.lr:g}"
        grad_symbol = rf"\frac{{\partial {mean}}}{{\partial {symbol}}}"
        anchor = f"update-{slug(name)}"
        if config.is_plain_sgd:
            return [chain(_primed(symbol), [rf"{symbol} - \gamma {grad_symbol}",
                                            rf"{n(record.initial)} - {lr} \cdot {bracketed(n(record.gradient))}",
                                            n(after)], anchor)]
        r = lambda value: readable(value, self.decimals)  # noqa: E731 - the state's small numbers stay visible
        lines = []
        theta = record.initial
        g_sub = rf"g_{{{symbol}}}"
        wd = config.option("weight_decay")
        if config.name == "adamw" and wd:
            theta = record.initial * (1 - config.lr * wd)
            lines.append(chain(symbol, [rf"{symbol} (1 - \gamma \lambda)", rf"{n(record.initial)} (1 - {lr} \cdot {wd:g})",
                                        r(theta)]))
        g = record.gradient
        if wd and config.name != "adamw":
            g = record.gradient + wd * record.initial
            lines.append(chain(g_sub, [rf"{grad_symbol} + \lambda {symbol}",
                                       rf"{n(record.gradient)} + {wd:g} \cdot {bracketed(n(record.initial))}", r(g)]))
        else:
            lines.append(chain(g_sub, [grad_symbol, r(g)]))
        if config.name == "sgd":
            momentum = config.option("momentum")
            step = state["g"]
            if not momentum:
                lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma g_{{{symbol}}}",
                                                     rf"{n(theta)} - {lr} \cdot {bracketed(r(step))}", n(after)],
                                   anchor))
                return lines
            lines.append(chain(rf"b_{{{symbol}}}", [g_sub + r" \text{ (step 1)}", r(state["b"])]))
            if config.option("nesterov"):
                lines.append(chain(g_sub, [rf"{g_sub} + \mu b_{{{symbol}}}", rf"{r(g)} + {momentum:g} \cdot "
                                                                             rf"{bracketed(r(state['b']))}", r(step)]))
            lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma g_{{{symbol}}}" if config.option("nesterov")
                                                 else rf"{symbol} - \gamma b_{{{symbol}}}",
                                                 rf"{n(theta)} - {lr} \cdot {bracketed(r(step))}", n(after)], anchor))
        elif config.name in ("adam", "adamw"):
            beta1, beta2 = config.option("betas")
            eps = config.option("eps")
            lines.append(chain(rf"m_{{{symbol}}}", [rf"(1 - \beta_1) {g_sub}", rf"(1 - {beta1:g}) \cdot {bracketed(r(g))}",
                                                    r(state["m"])]))
            lines.append(chain(rf"v_{{{symbol}}}", [rf"(1 - \beta_2) {g_sub}^2",
                                                    rf"(1 - {beta2:g}) \cdot {_squared(r(g))}", r(state["v"])]))
            lines.append(chain(rf"\hat m_{{{symbol}}}", [rf"\frac{{m_{{{symbol}}}}}{{1 - \beta_1}}",
                                                         rf"\frac{{{r(state['m'])}}}{{1 - {beta1:g}}}", r(state["m_hat"])]))
            lines.append(chain(rf"\hat v_{{{symbol}}}", [rf"\frac{{v_{{{symbol}}}}}{{1 - \beta_2}}",
                                                         rf"\frac{{{r(state['v'])}}}{{1 - {beta2:g}}}", r(state["v_hat"])]))
            lines.append(chain(_primed(symbol), [
                rf"{symbol} - \gamma \frac{{\hat m_{{{symbol}}}}}{{\sqrt{{\hat v_{{{symbol}}}}} + \epsilon}}",
                rf"{n(theta)} - {lr} \cdot \frac{{{r(state['m_hat'])}}}{{\sqrt{{{r(state['v_hat'])}}} + {setting(eps)}}}",
                n(after)], anchor))
        elif config.name == "rmsprop":
            alpha, eps = config.option("alpha"), config.option("eps")
            lines.append(chain(rf"s_{{{symbol}}}", [rf"(1 - \alpha) {g_sub}^2", rf"(1 - {alpha:g}) \cdot {_squared(r(g))}",
                                                    r(state["s"])]))
            if config.option("centered"):
                lines.append(chain(rf"\bar g_{{{symbol}}}", [rf"(1 - \alpha) {g_sub}",
                                                             rf"(1 - {alpha:g}) \cdot {bracketed(r(g))}", r(state["g_avg"])]))
                lines.append(chain(rf"d_{{{symbol}}}", [rf"\sqrt{{s_{{{symbol}}} - \bar g_{{{symbol}}}^2}} + \epsilon",
                                                        r(state["d"])]))
            else:
                lines.append(chain(rf"d_{{{symbol}}}", [rf"\sqrt{{s_{{{symbol}}}}} + \epsilon",
                                                        rf"\sqrt{{{r(state['s'])}}} + {setting(eps)}", r(state["d"])]))
            if config.option("momentum"):
                lines.append(chain(rf"b_{{{symbol}}}", [rf"\frac{{{g_sub}}}{{d_{{{symbol}}}}}", r(state["b"])]))
                lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma b_{{{symbol}}}",
                                                     rf"{n(theta)} - {lr} \cdot {bracketed(r(state['b']))}", n(after)],
                                   anchor))
            else:
                lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma \frac{{{g_sub}}}{{d_{{{symbol}}}}}",
                                                     rf"{n(theta)} - {lr} \cdot \frac{{{r(g)}}}{{{r(state['d'])}}}",
                                                     n(after)], anchor))
        else:
            eps = config.option("eps")
            lines.append(chain(rf"S_{{{symbol}}}", [rf"{g_sub}^2", _squared(r(g)), r(state["S"])]))
            lines.append(chain(_primed(symbol), [
                rf"{symbol} - \gamma \frac{{{g_sub}}}{{\sqrt{{S_{{{symbol}}}}} + \epsilon}}",
                rf"{n(theta)} - {lr} \cdot \frac{{{r(g)}}}{{\sqrt{{{r(state['S'])}}} + {setting(eps)}}}", n(after)], anchor))
        return lines
