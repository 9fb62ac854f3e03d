"""The update steps of the worked solution: theta' for every parameter, with the optimizer's own lines.

Plain gradient descent is one line, theta' = theta - gamma dL/dtheta. The other optimizers first write
their state (weight decay, the momentum buffer, Adam's m, v and their bias corrections, RMSprop's running
square, Adagrad's sum), from 0 at step 1 and from the step before's later, each in symbols, with numbers
and as a value; all values are the ones the optimizer recorded. Every step is written (up to EXPLAIN_STEPS),
or the one asked for; a frozen parameter is said to be so.
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


EXPLAIN_STEPS = 50  # steps whose update a worked solution writes out; beyond, the first and the last
EXPLAIN_UPDATES = 1_000  # and parameters x steps at most: a large network's is written for the first and the last


class UpdateSection:
    """Mixed into the derivation builder; uses its solution, problem and formatting."""

    def shown_steps(self) -> list[int]:
        """The steps whose update is written: the one asked for (`step`), else every step the solution kept
        in full, up to EXPLAIN_STEPS and EXPLAIN_UPDATES parameter updates; beyond, or where a long run kept no
        gradients, the first and the last."""
        steps = self.solution.steps
        if self.step is not None:
            return [self.step]
        kept = all(record.gradients for record in self.solution.history)
        if steps <= EXPLAIN_STEPS and steps * len(self.solution.parameters) <= EXPLAIN_UPDATES and kept:
            return list(range(1, steps + 1))
        return [1, steps] if kept and steps > 1 else [1]

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
        if config.frozen:
            intro.append(Paragraph(("Frozen, left out of the optimizer as torch.optim leaves a parameter it is not "
                                    "given: ", ", ".join(config.frozen), ". Their gradients are worked out above; "
                                    "their values never change.",)))
        steps = self.shown_steps()
        total = self.solution.steps
        if total > 1 and len(steps) < total and self.step is None:
            intro.append(Paragraph((f"Of the {total} steps, " + " and ".join(f"step {k}" for k in steps) +
                                    " are written out; `--step K` writes step K.",)))
        blocks: list = []
        for k in steps:
            body = []
            for name, record in self.solution.parameters.items():
                body.extend(self.update_chains(name, record, mean, k))
            if total > 1:
                if k == 1:
                    heading = Paragraph((f"Step 1 of {total}, with the gradients worked out above.",))
                else:
                    heading = Paragraph((f"Step {k} of {total}, with the gradients at the parameters after step "
                                         f"{k - 1}, where the loss is ", Math(self.n(self.solution.history[k - 1].loss)),
                                         "."))
                blocks.append(Section((f"Step {k}",), f"update-step-{k}", tuple([heading] + body), level=3))
            else:
                blocks.extend(body)
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

    def update_chains(self, name: str, record, mean: str, k: int = 1) -> list:
        """theta' for one parameter at step k, with the optimizer's own lines: its state before the step (0 at
        step 1, as torch starts it) and after it."""
        config = self.problem.optimizer
        symbol = name_latex(name)
        history = self.solution.history
        state = history[k - 1].state.get(name, {})
        before = history[k - 2].state.get(name, {}) if k > 1 else {}
        theta = record.initial if k == 1 else history[k - 2].parameters[name]
        grad = record.gradient if k == 1 else history[k - 1].gradients[name]
        after = history[k - 1].parameters[name]
        n = self.n
        lr = f"{config.lr:g}"
        grad_symbol = rf"\frac{{\partial {mean}}}{{\partial {symbol}}}"
        anchor = f"update-{slug(name)}" + (f"-{k}" if k > 1 else "")
        if name in config.frozen:
            return [chain(_primed(symbol), [symbol + r" \text{ (frozen)}", n(after)], anchor)]
        if config.is_plain_sgd:
            return [chain(_primed(symbol), [rf"{symbol} - \gamma {grad_symbol}",
                                            rf"{n(theta)} - {lr} \cdot {bracketed(n(grad))}", n(after)], anchor)]
        r = lambda value: readable(value, self.decimals)  # noqa: E731 - the state's small numbers stay visible
        lines = []
        start = theta
        g_sub = rf"g_{{{symbol}}}"
        wd = config.option("weight_decay")
        if config.name == "adamw" and wd:
            theta = start * (1 - config.lr * wd)
            lines.append(chain(symbol, [rf"{symbol} (1 - \gamma \lambda)", rf"{n(start)} (1 - {lr} \cdot {wd:g})",
                                        r(theta)]))
        g = grad
        if wd and config.name != "adamw":
            g = grad + wd * start
            lines.append(chain(g_sub, [rf"{grad_symbol} + \lambda {symbol}",
                                       rf"{n(grad)} + {wd:g} \cdot {bracketed(n(start))}", r(g)]))
        else:
            lines.append(chain(g_sub, [grad_symbol, r(g)]))
        if config.name == "sgd":
            lines += self._sgd_lines(symbol, g_sub, g, state, before, k, theta, after, anchor, r)
        elif config.name in ("adam", "adamw"):
            lines += self._adam_lines(symbol, g_sub, g, state, before, k, theta, after, anchor, r)
        elif config.name == "rmsprop":
            lines += self._rmsprop_lines(symbol, g_sub, g, state, before, k, theta, after, anchor, r)
        else:
            lines += self._adagrad_lines(symbol, g_sub, g, state, before, k, theta, after, anchor, r)
        return lines

    def _sgd_lines(self, symbol, g_sub, g, state, before, k, theta, after, anchor, r) -> list:
        config = self.problem.optimizer
        n, lr, momentum = self.n, f"{config.lr:g}", config.option("momentum")
        b = rf"b_{{{symbol}}}"
        if not momentum:
            return [chain(_primed(symbol), [rf"{symbol} - \gamma {g_sub}", rf"{n(theta)} - {lr} \cdot {bracketed(r(g))}",
                                            n(after)], anchor)]
        if k == 1:
            lines = [chain(b, [g_sub + r" \text{ (step 1)}", r(state["b"])])]
        else:
            dampening = config.option("dampening")
            lines = [chain(b, [rf"\mu {b} + (1 - \tau) {g_sub}",
                               rf"{momentum:g} \cdot {bracketed(r(before['b']))} + (1 - {dampening:g}) \cdot "
                               rf"{bracketed(r(g))}", r(state["b"])])]
        step = g + momentum * state["b"] if config.option("nesterov") else state["b"]
        if config.option("nesterov"):
            lines.append(chain(g_sub, [rf"{g_sub} + \mu {b}", rf"{r(g)} + {momentum:g} \cdot {bracketed(r(state['b']))}",
                                       r(step)]))
        lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma {g_sub}" if config.option("nesterov")
                                             else rf"{symbol} - \gamma {b}",
                                             rf"{n(theta)} - {lr} \cdot {bracketed(r(step))}", n(after)], anchor))
        return lines

    def _adam_lines(self, symbol, g_sub, g, state, before, k, theta, after, anchor, r) -> list:
        config = self.problem.optimizer
        n, lr = self.n, f"{config.lr:g}"
        beta1, beta2 = config.option("betas")
        eps = config.option("eps")
        m, v = rf"m_{{{symbol}}}", rf"v_{{{symbol}}}"
        if k == 1:
            lines = [chain(m, [rf"(1 - \beta_1) {g_sub}", rf"(1 - {beta1:g}) \cdot {bracketed(r(g))}", r(state["m"])]),
                     chain(v, [rf"(1 - \beta_2) {g_sub}^2", rf"(1 - {beta2:g}) \cdot {_squared(r(g))}", r(state["v"])])]
        else:
            lines = [chain(m, [rf"\beta_1 {m} + (1 - \beta_1) {g_sub}",
                               rf"{beta1:g} \cdot {bracketed(r(before['m']))} + (1 - {beta1:g}) \cdot {bracketed(r(g))}",
                               r(state["m"])]),
                     chain(v, [rf"\beta_2 {v} + (1 - \beta_2) {g_sub}^2",
                               rf"{beta2:g} \cdot {r(before['v'])} + (1 - {beta2:g}) \cdot {_squared(r(g))}",
                               r(state["v"])])]
        second = v
        if config.option("amsgrad"):
            second = rf"v^{{\max}}_{{{symbol}}}"
            lines.append(chain(second, [rf"\max({second}, {v})" if k > 1 else v,
                                        (rf"\max({r(before['v_max'])}, {r(state['v'])})" if k > 1 else r(state["v"])),
                                        r(state["v_max"])]))
        power = "" if k == 1 else f"^{{{k}}}"
        lines.append(chain(rf"\hat m_{{{symbol}}}", [rf"\frac{{{m}}}{{1 - \beta_1{power}}}",
                                                     rf"\frac{{{r(state['m'])}}}{{1 - {beta1:g}{power}}}",
                                                     r(state["m_hat"])]))
        lines.append(chain(rf"\hat v_{{{symbol}}}", [rf"\frac{{{second}}}{{1 - \beta_2{power}}}",
                                                     rf"\frac{{{r(state.get('v_max', state['v']))}}}{{1 - {beta2:g}{power}}}",
                                                     r(state["v_hat"])]))
        lines.append(chain(_primed(symbol), [
            rf"{symbol} - \gamma \frac{{\hat m_{{{symbol}}}}}{{\sqrt{{\hat v_{{{symbol}}}}} + \epsilon}}",
            rf"{n(theta)} - {lr} \cdot \frac{{{r(state['m_hat'])}}}{{\sqrt{{{r(state['v_hat'])}}} + {setting(eps)}}}",
            n(after)], anchor))
        return lines

    def _rmsprop_lines(self, symbol, g_sub, g, state, before, k, theta, after, anchor, r) -> list:
        config = self.problem.optimizer
        n, lr = self.n, f"{config.lr:g}"
        alpha, eps, momentum = config.option("alpha"), config.option("eps"), config.option("momentum")
        s_sym, avg, d, b = rf"s_{{{symbol}}}", rf"\bar g_{{{symbol}}}", rf"d_{{{symbol}}}", rf"b_{{{symbol}}}"
        if k == 1:
            lines = [chain(s_sym, [rf"(1 - \alpha) {g_sub}^2", rf"(1 - {alpha:g}) \cdot {_squared(r(g))}", r(state["s"])])]
        else:
            lines = [chain(s_sym, [rf"\alpha {s_sym} + (1 - \alpha) {g_sub}^2",
                                   rf"{alpha:g} \cdot {r(before['s'])} + (1 - {alpha:g}) \cdot {_squared(r(g))}",
                                   r(state["s"])])]
        if config.option("centered"):
            if k == 1:
                lines.append(chain(avg, [rf"(1 - \alpha) {g_sub}", rf"(1 - {alpha:g}) \cdot {bracketed(r(g))}",
                                         r(state["g_avg"])]))
            else:
                lines.append(chain(avg, [rf"\alpha {avg} + (1 - \alpha) {g_sub}",
                                         rf"{alpha:g} \cdot {bracketed(r(before['g_avg']))} + (1 - {alpha:g}) \cdot "
                                         rf"{bracketed(r(g))}", r(state["g_avg"])]))
            lines.append(chain(d, [rf"\sqrt{{{s_sym} - {avg}^2}} + \epsilon",
                                   rf"\sqrt{{{r(state['s'])} - {_squared(r(state['g_avg']))}}} + {setting(eps)}",
                                   r(state["d"])]))
        else:
            lines.append(chain(d, [rf"\sqrt{{{s_sym}}} + \epsilon", rf"\sqrt{{{r(state['s'])}}} + {setting(eps)}",
                                   r(state["d"])]))
        if momentum:
            if k == 1:
                lines.append(chain(b, [rf"\frac{{{g_sub}}}{{{d}}}", r(state["b"])]))
            else:
                lines.append(chain(b, [rf"\mu {b} + \frac{{{g_sub}}}{{{d}}}",
                                       rf"{momentum:g} \cdot {bracketed(r(before['b']))} + "
                                       rf"\frac{{{r(g)}}}{{{r(state['d'])}}}", r(state["b"])]))
            lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma {b}",
                                                 rf"{n(theta)} - {lr} \cdot {bracketed(r(state['b']))}", n(after)],
                               anchor))
        else:
            lines.append(chain(_primed(symbol), [rf"{symbol} - \gamma \frac{{{g_sub}}}{{{d}}}",
                                                 rf"{n(theta)} - {lr} \cdot \frac{{{r(g)}}}{{{r(state['d'])}}}",
                                                 n(after)], anchor))
        return lines

    def _adagrad_lines(self, symbol, g_sub, g, state, before, k, theta, after, anchor, r) -> list:
        config = self.problem.optimizer
        n, eps = self.n, config.option("eps")
        big_s = rf"S_{{{symbol}}}"
        if k == 1:
            lines = [chain(big_s, [rf"{g_sub}^2", _squared(r(g)), r(state["S"])])]
        else:
            lines = [chain(big_s, [rf"{big_s} + {g_sub}^2", rf"{r(before['S'])} + {_squared(r(g))}", r(state["S"])])]
        rate = f"{config.lr:g}"
        if config.option("lr_decay") and k > 1:
            lines.append(chain(r"\gamma_t", [rf"\frac{{\gamma}}{{1 + ({k} - 1)\eta}}",
                                              rf"\frac{{{config.lr:g}}}{{1 + {k - 1} \cdot {config.option('lr_decay'):g}}}",
                                              r(state["lr_t"])]))
            rate = r(state["lr_t"])
        lines.append(chain(_primed(symbol), [
            rf"{symbol} - \gamma{'_t' if config.option('lr_decay') and k > 1 else ''} "
            rf"\frac{{{g_sub}}}{{\sqrt{{{big_s}}} + \epsilon}}",
            rf"{n(theta)} - {rate} \cdot \frac{{{r(g)}}}{{\sqrt{{{r(state['S'])}}} + {setting(eps)}}}", n(after)],
            anchor))
        return lines
