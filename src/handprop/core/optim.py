"""Optimizers, each step exactly torch.optim's (PyTorch 2.x, single-tensor formulas, maximize=False).

Each works on one "slot" at a time: a parameter's float on the scalar path, or a whole weight matrix on
the NumPy path (the same code; `sqrt`, `maximum` and `fma` come from math or NumPy). State starts as PyTorch
starts it: zeros, step 0; SGD's momentum buffer is the first gradient itself.

    sgd      g = dL/dθ + wd θ;  b = g (step 1), else b = μ b + (1 - τ) g;  g = g + μ b (Nesterov) or b;
             θ' = θ - γ g
    adam     g = dL/dθ + wd θ;  m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²;  (amsgrad: v_max = max(v_max, v))
             θ' = θ - γ m̂ / (√v̂ + ε),  m̂ = m / (1 - β1^t),  v̂ = v / (1 - β2^t)
    adamw    θ = θ (1 - γ wd) first (decoupled weight decay), then adam without wd
    rmsprop  g = dL/dθ + wd θ;  s = α s + (1 - α) g²;  centred: ḡ = α ḡ + (1 - α) g, d = √(s - ḡ²) + ε
             (NaN, as torch's, where s - ḡ² rounds below 0), else d = √s + ε;  momentum: b = μ b + g / d, θ' = θ - γ b;  else θ' = θ - γ g / d
    adagrad  g = dL/dθ + wd θ;  γ_t = γ / (1 + (t - 1) lr_decay);  S = S + g²;  θ' = θ - γ_t g / (√S + ε)
"""

from __future__ import annotations

import math

from .frozen import dataclass, field


# name -> its settings and their defaults, as torch.optim's (lr has none: it is always given).
OPTIMIZERS = {
    "sgd": {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "adamw": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
    "adagrad": {"lr_decay": 0.0, "eps": 1e-10, "weight_decay": 0.0},
}
OPTIMIZER_NAMES = {"sgd": "gradient descent (SGD)", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop",
                   "adagrad": "Adagrad"}


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "sgd"
    lr: float = 0.1
    steps: int = 1  # full-batch steps taken from the initial parameters
    options: dict = field(default_factory=dict)  # every setting of the optimizer, defaults filled in
    frozen: tuple = ()  # parameters left out of the optimizer, as torch's: gradients computed, never updated
    given: bool = True  # False: the problem has no [optimizer] (a gradient-only question): no step is taken

    def option(self, key: str):
        return self.options.get(key, OPTIMIZERS[self.name][key])

    @property
    def is_plain_sgd(self) -> bool:
        return (self.name == "sgd" and not self.option("momentum") and not self.option("weight_decay")
                and not self.frozen)


# torch.optim's names for the state it keeps per parameter (optimizer.state[p]), from handprop's own letters;
# "step" is the steps taken, kept by every optimizer but SGD. The rest of handprop's quantities (m_hat, v_hat,
# d, lr_t, the decayed g) are worked out in each step and not kept by torch.
TORCH_STATE = {"sgd": {"b": "momentum_buffer"},
               "adam": {"m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq"},
               "adamw": {"m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq"},
               "rmsprop": {"s": "square_avg", "b": "momentum_buffer", "g_avg": "grad_avg"},
               "adagrad": {"S": "sum"}}


def torch_state(config: OptimizerConfig, state: dict, steps: int) -> dict:
    """One parameter's state after `steps` steps under torch.optim's names.

    >>> torch_state(OptimizerConfig("adam", 0.1), {"m": 0.5, "v": 0.25, "m_hat": 5.0}, 1)
    {'step': 1.0, 'exp_avg': 0.5, 'exp_avg_sq': 0.25}
    """
    names = TORCH_STATE[config.name]
    kept = {"step": float(steps)} if config.name != "sgd" else {}
    kept.update({names[key]: value for key, value in state.items() if key in names})
    return kept


def sqrt_or_nan(x: float) -> float:
    """The square root, NaN below 0 as torch's (centred RMSprop's s - g_avg^2 can round below 0)."""
    return math.sqrt(x) if x >= 0 else math.nan


def fused_multiply_add(a: float, b: float, c: float) -> float:
    """a b + c rounded once, as the fused multiply-add of torch's CPU kernels: exactly, as the ratio of two
    integers, whose division Python rounds correctly (as fractions.Fraction's float() does).

    >>> fused_multiply_add(0.1, 0.1, -0.01), 0.1 * 0.1 - 0.01
    (9.020562075079397e-19, 1.734723475976807e-18)
    """
    if math.isfinite(a) and math.isfinite(b) and math.isfinite(c):
        (na, da), (nb, db), (nc, dc) = a.as_integer_ratio(), b.as_integer_ratio(), c.as_integer_ratio()
        try:
            return (na * nb * dc + nc * da * db) / (da * db * dc)
        except OverflowError:
            pass
    return a * b + c


def lerp(start, end, weight: float, fma=None):
    """start + weight (end - start), as torch's lerp_ computes it: for a weight of 0.5 or more from the end,
    end - (end - start)(1 - weight); with fma (a fused multiply-add), rounded as torch's to the last bit."""
    if fma is None:
        if abs(weight) < 0.5:
            return start + weight * (end - start)
        return end - (end - start) * (1 - weight)
    if abs(weight) < 0.5:
        return fma(weight, end - start, start)
    return fma(-(end - start), 1 - weight, end)


class Optimizer:
    """torch.optim's update rule, applied slot by slot; keeps each slot's state between steps."""

    def __init__(self, config: OptimizerConfig, *, sqrt=sqrt_or_nan, maximum=max, fma=fused_multiply_add):
        self.config = config
        self.sqrt = sqrt
        self.maximum = maximum
        self.fma = fma
        self.t = 0  # steps taken, as torch's state["step"]
        self.state: dict = {}  # slot -> {name: value}: the optimizer's own quantities after the last step

    def begin_step(self, steps: int = 1) -> None:
        """Count the step (or `steps` steps of plain SGD, which keeps no other state) about to be taken."""
        self.t += steps

    def non_finite(self) -> tuple | None:
        """Why the last step's own quantities are not all numbers, as (slot, what, expected) for an error; None
        if they are. Centred RMSprop's d is NaN, as torch's, where s - g_avg^2 rounded below 0.

        >>> optimizer = Optimizer(OptimizerConfig("rmsprop", 0.1, options={"centered": True, "alpha": 0.1}))
        >>> for _ in range(30):
        ...     _ = optimizer_step(optimizer, {"w": 0.0}, {"w": 1.6036019670024908})
        >>> optimizer.non_finite()[1]
        "centred RMSprop's s - g_avg^2 rounded below 0, so its d = sqrt(s - g_avg^2) + eps is nan, as torch's"
        """
        for slot, quantities in self.state.items():
            for key, value in quantities.items():
                values = value.ravel().tolist() if hasattr(value, "ravel") else [value]
                bad = next((v for v in values if isinstance(v, float) and not math.isfinite(v)), None)
                if bad is None:
                    continue
                if key == "d" and self.config.option("centered") and math.isnan(bad):
                    return (slot, "centred RMSprop's s - g_avg^2 rounded below 0, so its d = sqrt(s - g_avg^2) + eps "
                            "is nan, as torch's", "a gradient that changes from step to step, or centered = false")
                return slot, f"the optimizer's {key} became {bad!r}", None
        return None

    def update(self, slot, theta, grad):
        """theta after this step, given dL/dtheta; records the slot's state lines."""
        rule = getattr(self, "_" + self.config.name)
        return rule(self.state.setdefault(slot, {}), theta, grad)

    def _sgd(self, s: dict, theta, grad):
        option, lr = self.config.option, self.config.lr
        g = grad + option("weight_decay") * theta if option("weight_decay") else grad
        momentum = option("momentum")
        if momentum:
            s["b"] = g if "b" not in s else momentum * s["b"] + (1 - option("dampening")) * g
            g = g + momentum * s["b"] if option("nesterov") else s["b"]
        s["g"] = g
        return theta - lr * g

    def _adam(self, s: dict, theta, grad, decoupled: bool = False):
        option, lr, t = self.config.option, self.config.lr, self.t
        beta1, beta2 = option("betas")
        wd = option("weight_decay")
        if decoupled and wd:
            theta = theta * (1 - lr * wd)
        g = grad + wd * theta if wd and not decoupled else grad
        s["m"] = lerp(s.get("m", 0.0 * g), g, 1 - beta1)
        s["v"] = beta2 * s.get("v", 0.0 * g) + (1 - beta2) * g * g
        correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
        second = s["v"]
        if option("amsgrad"):
            s["v_max"] = self.maximum(s.get("v_max", 0.0 * g), s["v"])
            second = s["v_max"]
        s["m_hat"], s["v_hat"] = s["m"] / correction1, second / correction2
        # torch's arrangement of the same quotient: lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)
        denominator = self.sqrt(second) / math.sqrt(correction2) + option("eps")
        return theta - (lr / correction1) * s["m"] / denominator

    def _adamw(self, s: dict, theta, grad):
        return self._adam(s, theta, grad, decoupled=True)

    def _rmsprop(self, s: dict, theta, grad):
        option, lr = self.config.option, self.config.lr
        alpha, eps = option("alpha"), option("eps")
        g = grad + option("weight_decay") * theta if option("weight_decay") else grad
        if option("centered"):
            # s - g_avg^2 is a difference of nearly equal numbers once the gradient settles, and its sign
            # decides whether the step is a number: torch's three fused multiply-adds, each rounded once, so
            # that the square root of a difference that rounded below 0 is NaN exactly when torch's is.
            fma = self.fma
            s["s"] = fma((1 - alpha) * g, g, alpha * s.get("s", 0.0 * g))
            s["g_avg"] = lerp(s.get("g_avg", 0.0 * g), g, 1 - alpha, fma)
            s["d"] = self.sqrt(fma(-s["g_avg"], s["g_avg"], s["s"])) + eps
        else:
            s["s"] = alpha * s.get("s", 0.0 * g) + (1 - alpha) * g * g
            s["d"] = self.sqrt(s["s"]) + eps
        if option("momentum"):
            s["b"] = option("momentum") * s.get("b", 0.0 * g) + g / s["d"]
            return theta - lr * s["b"]
        return theta - lr * g / s["d"]

    def _adagrad(self, s: dict, theta, grad):
        option, lr = self.config.option, self.config.lr
        g = grad + option("weight_decay") * theta if option("weight_decay") else grad
        s["lr_t"] = lr / (1 + (self.t - 1) * option("lr_decay"))
        s["S"] = s.get("S", 0.0 * g) + g * g
        return theta - s["lr_t"] * g / (self.sqrt(s["S"]) + option("eps"))


def optimizer_step(optimizer: Optimizer, values: dict, gradients: dict) -> dict:
    """One step over every parameter (the scalar path): the parameters after it.

    >>> optimizer_step(Optimizer(OptimizerConfig(lr=0.5)), {"w1": 0.1}, {"w1": 0.04})
    {'w1': 0.08}
    """
    optimizer.begin_step()
    frozen = optimizer.config.frozen
    return {name: value if name in frozen else optimizer.update(name, value, gradients[name])
            for name, value in values.items()}
