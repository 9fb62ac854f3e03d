"""The core: the program of scalar equations (the one intermediate form), the op table, the algebra and
symbolic derivatives over it, the optimizers, hand rounding, and the one error type."""
