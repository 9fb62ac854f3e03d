"""The optimizer's step in plain Python, for the exported script (python_script.py): torch.optim's rule, as
core/optim.py takes it, written for the problem's own settings.

One function holds the rule for one parameter (only the parts the settings use: no weight-decay line
without weight decay), as the homework's own code has `GD(p, grad)`; the script calls it once per parameter,
with that parameter's state named after it (`m_w1`, `v_w1`). Plain gradient descent needs no function:
`w1 = w1 - lr * dL_w1`. The arithmetic is core/optim.py's, operation for operation (its `lerp` and
`fused_multiply_add` are copied in where the rule uses them), so that the script's numbers are handprop's.
"""

from __future__ import annotations

from ..core.optim import OPTIMIZER_NAMES, OptimizerConfig, fused_multiply_add, lerp

# Each optimizer's state, per parameter: what the script calls it (m for m_w1), where the settings keep it.
STATE = {"sgd": ("buffer",), "adam": ("m", "v", "v_max"), "adamw": ("m", "v", "v_max"),
         "rmsprop": ("s", "g_avg", "buffer"), "adagrad": ("squares",)}
CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


class Update:
    """The update of one problem's optimizer: its settings, its rule and its state."""

    def __init__(self, config: OptimizerConfig):
        self.config = config
        option = config.option
        name = config.name
        self.decay = bool(option("weight_decay"))
        self.momentum = name in ("sgd", "rmsprop") and bool(option("momentum"))
        # weight decay added to the gradient (all but AdamW's, which is decoupled): the rule's own g
        self.added_decay = self.decay and name != "adamw"
        self.state = [prefix for prefix in STATE[name] if self._keeps(prefix)]

    def _keeps(self, prefix: str) -> bool:
        option = self.config.option
        if prefix == "buffer":
            return self.momentum
        if prefix == "v_max":
            return bool(option("amsgrad"))
        if prefix == "g_avg":
            return bool(option("centered"))
        return True

    @property
    def plain(self) -> bool:
        """Plain gradient descent: theta - lr * grad, written in place."""
        return self.config.name == "sgd" and not self.decay and not self.momentum

    @property
    def words(self) -> str:
        return OPTIMIZER_NAMES[self.config.name]

    def settings(self) -> list[tuple[str, object, str]]:
        """(name, value, comment) for each setting the rule reads."""
        option, name = self.config.option, self.config.name
        found = [("lr", self.config.lr, "the learning rate")]
        if name in ("adam", "adamw"):
            beta1, beta2 = option("betas")
            found += [("beta1", beta1, "m's decay"), ("beta2", beta2, "v's decay"), ("eps", option("eps"), "")]
        if name == "rmsprop":
            found += [("alpha", option("alpha"), "s's decay"), ("eps", option("eps"), "")]
        if name == "adagrad":
            found += [("lr_decay", option("lr_decay"), ""), ("eps", option("eps"), "")]
        if self.momentum:
            found.append(("momentum", option("momentum"), ""))
        if name == "sgd" and self.momentum and option("dampening"):
            found.append(("dampening", option("dampening"), ""))
        if self.decay:
            found.append(("weight_decay", option("weight_decay"), ""))
        return found

    def helpers(self) -> list:
        """core/optim.py's functions the rule calls, to be copied into the script."""
        name, option = self.config.name, self.config.option
        if name in ("adam", "adamw"):
            return [lerp]
        if name == "rmsprop" and option("centered"):
            return [lerp, fused_multiply_add]
        return []

    def function(self) -> str:
        """The rule for one parameter as a function of it, its gradient and its state, giving them back after the
        step (none for plain gradient descent)."""
        if self.plain:
            return ""
        name = self.config.name
        body = getattr(self, "_" + name)()
        state = ", ".join(self.state)
        given = f"theta, {'grad' if self.added_decay else 'g'}" + (f", {state}" if state else "")
        returned = "theta" + (f", {state}" if state else "")
        head = [f"def {name}({given}):",
                f'    """One step of {self.words} for one parameter, as torch.optim.{CLASSES[name]}:',
                f'    the parameter{" and its state" if state else ""} after it."""']
        lines = head + ["    " + line for line in body]
        lines.append(f"    return {returned}")
        return "\n".join(lines) + "\n"

    def _gradient(self) -> list[str]:
        if self.added_decay:
            return ["g = grad + weight_decay * theta  # weight decay, added to the gradient"]
        return []

    def _sgd(self) -> list[str]:
        lines = self._gradient()
        if self.momentum:
            lines += ["# the momentum buffer: the gradient itself at the first step",
                      "buffer = g if step == 1 else momentum * buffer + "
                      + ("(1 - dampening) * g" if self.config.option("dampening") else "g")]
            if self.config.option("nesterov"):
                lines.append("g = g + momentum * buffer  # Nesterov's momentum")
            else:
                lines.append("g = buffer")
        return lines + ["theta = theta - lr * g"]

    def _adam(self) -> list[str]:
        lines = []
        if self.config.name == "adamw" and self.decay:
            lines.append("theta = theta * (1 - lr * weight_decay)  # decoupled weight decay, first")
        lines += self._gradient()
        lines += ["m = lerp(m, g, 1 - beta1)  # m = beta1 m + (1 - beta1) g, as torch's lerp computes it",
                  "v = beta2 * v + (1 - beta2) * g * g"]
        second = "v"
        if self.config.option("amsgrad"):
            lines.append("v_max = max(v_max, v)  # AMSGrad: the largest v so far")
            second = "v_max"
        lines += ["bias_correction1 = 1 - beta1 ** step",
                  "bias_correction2 = 1 - beta2 ** step",
                  ("# m_hat / (sqrt(v_hat) + eps), m_hat = m / bias_correction1, v_hat = v / bias_correction2, "
                  "in torch's arrangement"),
                  f"denominator = math.sqrt({second}) / math.sqrt(bias_correction2) + eps",
                  "theta = theta - (lr / bias_correction1) * m / denominator"]
        return lines

    _adamw = _adam

    def _rmsprop(self) -> list[str]:
        lines = self._gradient()
        if self.config.option("centered"):
            lines += [("# centred: s - g_avg^2 estimates the gradient's variance; torch's fused multiply-adds, "
                      "each rounded once"),
                      "s = fused_multiply_add((1 - alpha) * g, g, alpha * s)",
                      "g_avg = lerp(g_avg, g, 1 - alpha, fused_multiply_add)",
                      "d = math.sqrt(fused_multiply_add(-g_avg, g_avg, s)) + eps"]
        else:
            lines += ["s = alpha * s + (1 - alpha) * g * g",
                      "d = math.sqrt(s) + eps"]
        if self.momentum:
            lines += ["buffer = momentum * buffer + g / d",
                      "theta = theta - lr * buffer"]
        else:
            lines.append("theta = theta - lr * g / d")
        return lines

    def _adagrad(self) -> list[str]:
        return self._gradient() + [
            "lr_t = lr / (1 + (step - 1) * lr_decay)  # the learning rate, decayed",
            "squares = squares + g * g  # the sum of the squared gradients so far",
            "theta = theta - lr_t * g / (math.sqrt(squares) + eps)"]
