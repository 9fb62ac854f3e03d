"""A network with batch-norm in its worked solution, as a course writes it: the whole batch at once.

Batch-norm couples the samples of a batch, so the program holds them all (problem/kinds/stack.py: every node's name
has the sample first, x[s,...], h3[s,j]; L[s] each sample's loss, L their mean). The batch-norm layer is written
on the batch as a matrix, one row per sample, channel by channel (derivation_kinds_norms.py's pieces, the formulas
being layer-norm's over another group of entries):

    mu_c = (1/N) sum_i x_i,   sigma^2_c = (1/N) sum_i (x_i - mu_c)^2,   xhat_i = (x_i - mu_c) / sqrt(sigma^2_c + eps),
    y_i = gamma_c xhat_i + beta_c          (N = batch x positions of channel c)

and back through the variance and the mean with every sample's terms; dL/dgamma = sum_i dL/dy_i xhat_i, dL/dbeta =
sum_i dL/dy_i; then the running statistics after the step, m mu + (1 - m) running_mean and m N/(N - 1) sigma^2 +
(1 - m) running_var. A layer that does not couple is written per sample by the kinds' own writers, on a view of
one sample's names; a dense layer's gradients summed over the batch as matrices (dL/dW = Delta^T A); a kind with
parameters other than dense and batch-norm, node by node. Every number is a record's.
"""

from __future__ import annotations

import math
from ..core.frozen import dataclass
from itertools import product

from ..problem.kinds import KINDS
from ..problem.kinds.base import describe_shape, grid_names
from ..problem.kinds.norms import BatchNorm
from ..problem.kinds.stack import in_sample
from ..problem.layered import NO_ACTIVATION
from .derivation_backward import bracketed, chain, loss_parts
from .derivation_kinds_grids import KindsLayer, grid_symbol, letter
from .document import Math, Paragraph, Section
from .mathtex import name_latex
from .matrices import bmatrix, side_limit
from .numbers import given

# Kinds without parameters of their own written sample by sample by the kinds' writers (dense too, its gradients
# summed over the batch here); any other kind in a batch-norm network is written node by node.
PER_SAMPLE = ("conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d", "flatten", "dense", "dropout")
PARAMETERLESS = ("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d", "flatten", "dropout")


@dataclass(frozen=True)
class BatchLayer(KindsLayer):
    """A layer over the whole batch: inputs, pre, post every sample's names (sample by sample), and each sample's
    view (a KindsLayer of its names and equations) in samples."""

    samples: tuple = ()


def batch_layers(problem) -> list[BatchLayer] | None:
    """A batch-norm network's layers over its whole batch, or None where the program's names are not the stack's.

    >>> from handprop import load
    >>> [(layer.type, len(layer.samples)) for layer in batch_layers(load("batchnorm_batch_of_4"))]
    [('batchnorm', 4), ('dense', 4)]
    """
    stack, program = problem.stack, problem.program
    position = {target: i for i, eq in enumerate(program.equations) for target in eq.targets}
    samples = range(1, stack.batch + 1)
    inputs = [tuple(in_sample(name, s) for name in stack.inputs) for s in samples]
    start, found = 0, []
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS.get(layer.type)
        if kind is None:
            return None
        last, activated = n == len(stack.layers), layer.activation != NO_ACTIVATION
        if layer.type == "flatten":
            pres = posts = inputs
        else:
            if hasattr(kind, "states"):  # a recurrent layer's output is its hidden states (h{n}[t,j])
                steps, hidden = layer.shape_in[0], layer.setting("hidden")
                first = steps if layer.setting("return") == "last" else 1
                pre = post = tuple(f"h{n}[{t},{j}]" for t in range(first, steps + 1) for j in range(1, hidden + 1))
            else:
                pre = grid_names(("o" if activated else "y") if last else f"{kind.prefix}{n}", layer.shape_out)
                post = grid_names("y" if last else f"a{n}", layer.shape_out) if activated else pre
            pres = [tuple(in_sample(name, s) for name in pre) for s in samples]
            posts = [tuple(in_sample(name, s) for name in post) for s in samples]
        written = [name for names in posts for name in names]
        if isinstance(kind, BatchNorm):  # its running statistics follow its outputs
            written += [f"{stat}{n}[{c}]" for stat in ("rmean", "rvar") for c in range(1, layer.shape_in[0] + 1)]
        if any(name not in position for name in written + [name for names in pres for name in names]):
            return None
        end = max(position[name] for name in written) + 1 if layer.type != "flatten" else start
        if layer.type != "flatten" and end <= start:
            return None
        equations = program.equations[start:end]
        tensors = tuple(kind.tensors(layer, n))
        views = tuple(KindsLayer(n, layer, inputs[s], pres[s], posts[s],
                                 tuple(eq for eq in equations if set(eq.targets) & set(pres[s] + posts[s])),
                                 tensors, last) for s in range(len(samples)))
        found.append(BatchLayer(n, layer, _joined(inputs), _joined(pres), _joined(posts), equations, tensors, last,
                                views))
        start, inputs = end, posts
    losses = [f"L[{s}]" for s in samples]
    rest = [t for eq in program.equations[start:] for t in eq.targets]
    if rest != losses + [program.loss]:
        return None
    return found


def _joined(groups) -> tuple:
    return tuple(name for names in groups for name in names)


class BatchWriting:
    """Mixed into the kinds builder (derivation_kinds.py): a batch-norm network's sections, over its whole batch."""

    def batch_sections(self) -> list:
        sections = [self.batch_problem_section(), self.batch_forward_section(), self.batch_loss_section(),
                    self.batch_backward_section()]
        return sections + [self.running_section()]

    def batch_matrix(self, names: tuple, samples: int, gradient: bool = False) -> str:
        """Names listed sample by sample as a matrix, one row per sample."""
        source = self.trace.adjoints if gradient else self.trace.values
        size = len(names) // samples
        return bmatrix(samples, size, lambda i, j: self.n(source[names[i * size + j]]), side_limit(self.g.decimals))

    # -- the problem ------------------------------------------------------------------------

    def batch_problem_section(self) -> Section:
        g = self.g
        stack = g.problem.stack
        batch = stack.batch
        blocks: list = [Paragraph((f"A network of layer kinds on a batch of {batch} samples, each of shape "
                                   f"{describe_shape(stack.input_shape)}; loss: ", *loss_parts(stack.loss),
                                   ", averaged over the batch. Batch normalisation couples the samples (each one's output "
                                   "depends on the others' through the batch's mean and variance), so the whole batch "
                                   "is worked at once: every node carries its sample first (",
                                   Math(r"x_{s,\dots}"), "), ", Math(r"L_{s}"), " is sample s's loss and ",
                                   Math("L"), " their mean.",))]
        blocks += self.layers_and_figure(stack)
        inputs = self.layers[0].inputs
        blocks.append(Paragraph(("The inputs, one row per sample" +
                                 (" (its entries in C order)" if len(stack.input_shape) > 1 else "") + ":",)))
        most = side_limit(g.decimals)
        size = len(inputs) // batch
        blocks.append(chain(grid_symbol(inputs[0]), [bmatrix(batch, size, lambda i, j: given(
            self.trace.values[inputs[i * size + j]]), most)]))
        targets = [stack.sample_targets(s) for s in range(1, batch + 1)]
        blocks.append(Paragraph(("The targets, one row per sample:",)))
        blocks.append(chain("T", [bmatrix(batch, len(targets[0]), lambda i, j: given(self.trace.values[targets[i][j]]),
                                          most)]))
        blocks.append(Paragraph(("The parameters' initial values:",)))
        for layer in self.layers:
            for tensor in layer.tensors:
                blocks += self.tensor_chains(tensor, lambda name: given(g.solution.parameters[name].initial))
        blocks.append(self.optimizer_paragraph())
        return Section(("The problem",), "problem", tuple(blocks))

    # -- forward ----------------------------------------------------------------------------

    def batch_forward_section(self) -> Section:
        blocks: list = []
        for layer in self.layers:
            if isinstance(KINDS[layer.type], BatchNorm):
                body = self.batchnorm_forward(layer)
                if layer.activated:
                    for s, view in enumerate(layer.samples, 1):
                        body += [Paragraph((f"Sample {s}:",))] + self.activation_forward(view)
            elif layer.type in PER_SAMPLE:
                body = []
                for s, view in enumerate(layer.samples, 1):
                    written = self.layer_forward(view)
                    # a dense layer's formula once, with the first sample
                    body += [Paragraph((f"Sample {s}:",))] + (written[2:] if s > 1 and layer.type == "dense" else
                                                              written)
            else:
                body = [Paragraph(("Written node by node, every sample's:",))]
                body += [c for eq in layer.equations for c in self.g.forward_chains(eq)]
            title = f"Layer {layer.number}: {self.words(layer)}"
            blocks.append(Section((title,), f"forward-layer-{layer.number}", tuple(body), level=3))
        return Section(("Forward pass",), "forward", tuple(blocks))

    def channel_entries(self, layer) -> list[tuple[str, list, list, list, list]]:
        """Each channel c (1-based, as text) with its entries over the batch and positions: their inputs,
        deviations d{n}[s,...], xhat{n}[s,...] (the outputs, without affine) and outputs."""
        n, shape = layer.number, layer.layer.shape_in
        size, per = math.prod(shape), math.prod(shape[1:])
        indices = [",".join(str(i + 1) for i in index) for index in product(*(range(k) for k in shape))]
        affine = layer.layer.setting("affine")
        found = []
        for c in range(shape[0]):
            places = [(s, c * per + k) for s in range(len(layer.samples)) for k in range(per)]
            xs = [layer.inputs[s * size + p] for s, p in places]
            ys = [layer.pre[s * size + p] for s, p in places]
            ds = [f"d{n}[{s + 1},{indices[p]}]" for s, p in places]
            xhat = [f"xhat{n}[{s + 1},{indices[p]}]" for s, p in places] if affine else ys
            found.append((str(c + 1), xs, ds, xhat, ys))
        return found

    def affine_values(self, layer, c: str) -> tuple[str, str]:
        return f"gamma{layer.number}[{c}]", f"beta{layer.number}[{c}]"

    def batchnorm_forward(self, layer) -> list:
        n, shape = layer.number, layer.layer.shape_in
        batch = len(layer.samples)
        eps, affine = layer.layer.setting("eps"), layer.layer.setting("affine")
        per = math.prod(shape[1:])
        values = self.trace.values
        blocks: list = [Paragraph(("The batch as a matrix, one row per sample" +
                                   (f" (its entries in C order: channel, then position; a channel is {per} "
                                    "columns)" if len(shape) > 1 else ", one column per channel") + ":",)),
                        chain(grid_symbol(layer.inputs[0]), [self.batch_matrix(layer.inputs, batch)]),
                        Paragraph(("Each channel is normalised with the mean and the biased variance of its "
                                   f"{batch * per} values over the batch" + (" and its positions" if per > 1 else "") +
                                   ", ", Math(rf"\epsilon = {eps:g}"), ":",))]
        for c, xs, ds, xhat, ys in self.channel_entries(layer):
            blocks += self.norm_statistics(c, xs, ds, xhat, f"mu{n}[{c}]", f"var{n}[{c}]", f"rstd{n}[{c}]",
                                           lambda names: self.batch_matrix(names, batch))
            if affine:
                gamma, beta = self.affine_values(layer, c)
                blocks.append(chain(rf"y_{{{c}}}", [rf"\gamma_{{{c}}} \hat{{x}}_{{{c}}} + \beta_{{{c}}}",
                                                    rf"{self.n(values[gamma])} \cdot {self.batch_matrix(xhat, batch)} + "
                                                    rf"{bracketed(self.n(values[beta]))}",
                                                    self.batch_matrix(ys, batch)]))
        blocks.append(Paragraph(("The normalised batch, one row per sample:",)))
        blocks.append(chain(grid_symbol(layer.pre[0]), [self.batch_matrix(layer.pre, batch)]))
        return blocks

    # -- the loss ---------------------------------------------------------------------------

    def batch_loss_section(self) -> Section:
        g = self.g
        batch = len(self.layers[-1].samples)
        blocks: list = [Paragraph(("Each sample's loss:",))]
        blocks += [c for s in range(1, batch + 1) for c in g.forward_chains(g.by_target[f"L[{s}]"])]
        blocks.append(Paragraph((f"and the loss, their mean over the batch of {batch}:",)))
        blocks += g.forward_chains(g.by_target[self.loss])
        return Section(("Loss",), "loss", tuple(blocks))

    # -- backward ---------------------------------------------------------------------------

    def batch_backward_section(self) -> Section:
        g = self.g
        batch = len(self.layers[-1].samples)
        loss = name_latex(self.loss)
        intro: list = [Paragraph(("From the loss back, a layer at a time, over the whole batch. For layer ", Math("n"),
                                  ", ", Math(rf"\delta^{{[n]}} = \partial {loss} / \partial z^{{[n]}}"),
                                  " is the gradient of its output before its activation. The loss is the mean of "
                                  f"the {batch} samples' losses, so each sample's loss has the gradient ",
                                  Math(rf"1/{batch}"), ":"))]
        intro += [self.node(f"L[{s}]") for s in range(1, batch + 1)]
        intro += g.convention_notes()
        blocks = []
        for layer in reversed(self.layers):
            if isinstance(KINDS[layer.type], BatchNorm):
                body = self.batchnorm_backward(layer)
            elif layer.type == "dense":
                body = []
                for s, view in enumerate(layer.samples, 1):
                    body += [Paragraph((f"Sample {s}:",))] + self.output_backward(view)
                body += self.batch_dense_backward(layer)
            elif layer.type in PARAMETERLESS:
                body = []
                for s, view in enumerate(layer.samples, 1):
                    body += [Paragraph((f"Sample {s}:",))] + self.layer_backward(view)
            else:
                body = self.generic_backward(layer)
            blocks.append(Section((f"Layer {layer.number}: {self.words(layer)}",), f"backward-layer-{layer.number}",
                                  tuple(body), level=3))
        if g.inputs:
            data = [Paragraph(("The data are fixed, but the loss depends on them as on anything it reads.",))]
            data += [self.node(name) for name in g.program.data]
            blocks.append(Section(("Gradients of the inputs",), "inputs", tuple(data), level=3))
        return Section(("Backward pass",), "backward", tuple(intro + blocks))

    def batch_dense_backward(self, layer) -> list:
        trace, most = self.trace, side_limit(self.g.decimals)
        n, batch = layer.number, len(layer.samples)
        units, fan_in = layer.layer.shape_out[0], layer.layer.shape_in[0]
        x, d = letter(layer.inputs[0]), rf"\Delta^{{[{n}]}}"
        loss = name_latex(self.loss)
        weights = layer.tensors[0].names
        pre = lambda i, j: self.n(trace.adjoints[layer.pre[i * units + j]])  # noqa: E731  row i: sample i's delta
        blocks: list = [Paragraph(("With ", Math(d), " the batch's ", Math(rf"\delta^{{[{n}]}}"), " (one row per "
                                   "sample) and ", Math(grid_symbol(layer.inputs[0])), " its inputs, the weights' "
                                   "gradient sums every sample's outer product, ",
                                   Math(rf"\partial {loss} / \partial W^{{[{n}]}} = \sum_s \delta_s "
                                        rf"\left({x}_{{s}}\right)^\top = \Delta^{{[{n}]\top}} "
                                        rf"{grid_symbol(layer.inputs[0])}"), ":")),
                        chain(rf"\frac{{\partial {loss}}}{{\partial W^{{[{n}]}}}}", [
                            bmatrix(units, batch, lambda i, j: pre(j, i), most) +
                            self.batch_matrix(layer.inputs, batch),
                            bmatrix(units, fan_in, lambda i, j: self.n(trace.adjoints[weights[i * fan_in + j]]), most)])]
        if len(layer.tensors) > 1:
            biases = layer.tensors[1].names
            blocks.append(chain(rf"\frac{{\partial {loss}}}{{\partial b^{{[{n}]}}}}", [
                rf"\sum_s \delta_s", bmatrix(units, batch, lambda i, j: pre(j, i), most) + r"\mathbf{1}",
                bmatrix(units, 1, lambda i, j: self.n(trace.adjoints[biases[i]]), most)]))
        if self.writes_input(layer):
            blocks.append(Paragraph(("Its input's gradient, one row per sample, ",
                                     Math(rf"{d} W^{{[{n}]}}"), ":")))
            blocks.append(chain(self.partial_grid(grid_symbol(layer.inputs[0])), [
                bmatrix(batch, units, pre, most) +
                bmatrix(units, fan_in, lambda i, j: self.n(trace.values[weights[i * fan_in + j]]), most),
                self.batch_matrix(layer.inputs, batch, gradient=True)]))
        return blocks

    def batchnorm_backward(self, layer) -> list:
        trace, n = self.trace, layer.number
        batch = len(layer.samples)
        affine = layer.layer.setting("affine")
        loss = name_latex(self.loss)
        d = lambda symbol: rf"\frac{{\partial {loss}}}{{\partial {symbol}}}"  # noqa: E731
        blocks: list = []
        if layer.last or layer.activated:
            for s, view in enumerate(layer.samples, 1):
                blocks += [Paragraph((f"Sample {s}:",))] + self.output_backward(view)
        blocks += [Paragraph(("The gradient of the layer's output, one row per sample:",)),
                   chain(self.partial_grid(grid_symbol(layer.pre[0])), [self.batch_matrix(layer.pre, batch, True)]),
                   Paragraph(("Back through the normalisation, channel by channel: through ", Math(r"\hat{x}"),
                              ", then the variance and the mean. The samples are coupled: every entry of a channel, "
                              "in every sample, moved its mean and its variance, so each input's gradient holds "
                              "every sample's terms:",))]
        for c, xs, ds, xhat, ys in self.channel_entries(layer):
            blocks.append(chain(d(rf"y_{{{c}}}"), [self.batch_matrix(ys, batch, True)]))
            if affine:
                gamma, _ = self.affine_values(layer, c)
                blocks.append(chain(d(rf"\hat{{x}}_{{{c}}}"), [
                    rf"{d(f'y_{{{c}}}')} \gamma_{{{c}}}",
                    rf"{self.batch_matrix(ys, batch, True)} \cdot {self.n(trace.values[gamma])}",
                    self.batch_matrix(xhat, batch, True)]))
            # dL/dx is the derivation's point: written for the network's input too
            blocks += self.norm_group_backward(c, xs, xhat, ds, f"mu{n}[{c}]", f"var{n}[{c}]", f"rstd{n}[{c}]", True)
        blocks += [Paragraph(("The input's gradient, one row per sample:",)),
                   chain(self.partial_grid(grid_symbol(layer.inputs[0])),
                         [self.batch_matrix(layer.inputs, batch, True)])]
        if affine:
            blocks += self.affine_gradients(layer, "batch (every sample" +
                                            (" and position)" if len(layer.layer.shape_in) > 1 else ")"))
        return blocks

    # -- the running statistics -------------------------------------------------------------

    def running_section(self) -> Section:
        values = self.trace.values
        blocks: list = [running_intro("N")]
        for layer in self.layers:
            if not isinstance(KINDS[layer.type], BatchNorm):
                continue
            n, m = layer.number, layer.layer.setting("momentum")
            count = len(layer.samples) * math.prod(layer.layer.shape_in[1:])
            old_mean, old_var = layer.layer.setting("running_mean"), layer.layer.setting("running_var")
            blocks.append(Paragraph((f"Layer {layer.number}: ", Math(f"m = {m:g}"), ", ", Math(f"N = {count}"),
                                     " values per channel.")))
            for k in range(layer.layer.shape_in[0]):
                c = str(k + 1)
                mean, var = f"rmean{n}[{c}]", f"rvar{n}[{c}]"
                blocks.append(chain(name_latex(mean), [
                    rf"m \mu_{{{c}}} + (1 - m) \cdot \text{{running mean}}",
                    rf"{m:g} \cdot {bracketed(self.n(values[f'mu{n}[{c}]']))} + {1 - m:g} \cdot "
                    rf"{bracketed(given(old_mean[k]))}", self.n(values[mean])]))
                blocks.append(chain(name_latex(var), [
                    rf"m \frac{{N}}{{N - 1}} \sigma^2_{{{c}}} + (1 - m) \cdot \text{{running var}}",
                    rf"{m:g} \cdot \frac{{{count}}}{{{count - 1}}} \cdot {self.n(values[f'var{n}[{c}]'])} + "
                    rf"{1 - m:g} \cdot {bracketed(given(old_var[k]))}", self.n(values[var])]))
        return Section(("Running statistics",), "running", tuple(blocks))


def running_intro(count: str) -> Paragraph:
    """The running statistics' opening words, `count` the symbol of the entries per channel (N, M)."""
    return Paragraph(("In training mode batch normalisation also updates its running statistics (the ones evaluation "
                      "mode uses), with its momentum ", Math("m"), " and the unbiased variance, ",
                      Math(rf"\frac{{{count}}}{{{count} - 1}} \sigma^2"), ". They are no parameters: the loss does not "
                      "depend on them."))
