"""Every rule the verifiers know about one layer type, in one table (chapter 3, "Upper
and lower bounds"; notebooks 06-09).

For ``Flatten``, ``Linear`` and ``Conv2d``: the chapter's interval rule, the lowering
to an affine map on flattened vectors (:class:`AffineLayer`), and for the affine ones
the forward product (``W z``, ``|W| z``) and the backward product (``A -> A W``, CROWN's
step). For ``ReLU``: its interval rule and the rules of ``course_utils.relu`` (CROWN's
lines, the big-M rows, the hull cut). ``rule_for`` finds a layer's rules or raises one
error that names the layer and its position.

Convolutions are never unrolled into dense matrices: CROWN pushes bounds back through
them with transposed convolutions, and the solvers get a ``scipy.sparse`` matrix. A
bound row that starts at one neuron of a convolution depends only on that neuron's
receptive field: CROWN keeps such rows as *windows* (``back_window``), a small
``(C, h, w)`` patch per row at its own corner, and ``gather_windows`` reads any
per-pixel map (ReLU slopes, the input box) at those windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Dict, Optional, Tuple, Type

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .relu import relu_bigm_rows, relu_hull_cuts, relu_phases, relu_relaxation

Box = Tuple[torch.Tensor, torch.Tensor]
Shape = Tuple[int, ...]


@dataclass
class AffineLayer:
    """A ``Linear`` or ``Conv2d`` layer as the affine map ``z -> W z + b`` between
    flattened vectors, lowered once (``network.lower``).

    ``index``: the layer's position in the model (``bound_propagation(...)[index]``
    bounds its output); ``in_shape`` / ``out_shape``: unflattened, without the batch
    dimension; ``weight``: a copy of the module's weight in the lowering's dtype and
    device; ``bias``: ``(n_out,)``, one entry per flattened output (a convolution
    repeats its channel's bias); ``conv``: the convolution's options (``None`` for
    ``Linear``). ``matrix`` and ``offset`` are ``W`` and ``b`` for the solvers, float64
    on the CPU: a dense array for ``Linear``, a ``scipy.sparse`` CSR matrix for ``Conv2d``.
    """
    index: int
    kind: str
    in_shape: Shape
    out_shape: Shape
    weight: torch.Tensor
    bias: torch.Tensor
    conv: Optional[dict] = field(default=None)

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    def forward(self, z: torch.Tensor, absolute: bool = False) -> torch.Tensor:
        """``W z + b`` (or ``|W| z`` with ``absolute``) for ``z`` of shape ``(batch, n_in)``."""
        out = LAYER_RULES[self.kind].forward(self, z, absolute)
        return out if absolute else out + self.bias

    def back(self, A: torch.Tensor) -> torch.Tensor:
        """``A W`` for ``A`` of shape ``(batch, m, n_out)``; returns ``(batch, m, n_in)``."""
        return LAYER_RULES[self.kind].backward(self, A)

    def back_window(self, A: torch.Tensor, corner: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``A W`` for rows held as windows (convolutions only): ``A`` ``(batch, m, C_out, h,
        w)``, row ``i``'s window with top-left pixel ``corner[i]`` (``(m, 2)`` long, in the
        output's pixel grid; it may reach past the border). Returns the rows' windows on
        the input, ``(batch, m, C_in, h', w')``, and their corners ``(m, 2)``."""
        return LAYER_RULES[self.kind].backward_window(self, A, corner)

    @cached_property
    def matrix(self):
        """``W`` for the solvers (float64, CPU): dense for Linear, sparse CSR for Conv2d."""
        return LAYER_RULES[self.kind].matrix(self)

    @cached_property
    def offset(self) -> np.ndarray:
        """``b`` for the solvers, float64 ``(n_out,)``."""
        return self.bias.detach().double().cpu().numpy()


# --- Flatten ------------------------------------------------------------------------------


def _flatten_interval(layer: nn.Module, l: torch.Tensor, u: torch.Tensor) -> Box:
    return layer(l), layer(u)          # a reshape moves entries without changing them


def _flatten_check(layer: nn.Module) -> Optional[str]:
    if isinstance(layer, nn.Flatten) and (layer.start_dim, layer.end_dim) != (1, -1):
        return f"only start_dim=1, end_dim=-1 is supported, got start_dim={layer.start_dim}, end_dim={layer.end_dim}"
    return None


def _flatten_lower(position: int, layer: nn.Module, shape: Shape, dtype, device) -> Shape:
    return (int(np.prod(shape)),)


# --- Linear -------------------------------------------------------------------------------


def _linear_interval(layer: nn.Linear, l: torch.Tensor, u: torch.Tensor) -> Box:
    # centre through W, radius through |W|: the same as max(W,0) l + min(W,0) u + b
    mid, rad = (u + l) / 2, (u - l) / 2
    W = layer.weight.detach().to(l)
    b = None if layer.bias is None else layer.bias.detach().to(l)
    centre, radius = F.linear(mid, W, b), F.linear(rad, W.abs())
    return centre - radius, centre + radius


def _linear_lower(position: int, layer: nn.Linear, shape: Shape, dtype, device) -> AffineLayer:
    if shape != (layer.in_features,):
        raise ValueError(f"layer {position} (Linear) expects {layer.in_features} inputs, gets shape {shape}")
    weight = layer.weight.detach().to(dtype=dtype, device=device).clone()
    bias = (torch.zeros(layer.out_features, dtype=dtype, device=device) if layer.bias is None
            else layer.bias.detach().to(dtype=dtype, device=device).clone())
    return AffineLayer(position, "Linear", shape, (layer.out_features,), weight, bias)


def _linear_forward(layer: AffineLayer, z: torch.Tensor, absolute: bool) -> torch.Tensor:
    return z @ (layer.weight.abs() if absolute else layer.weight).t()


def _linear_backward(layer: AffineLayer, A: torch.Tensor) -> torch.Tensor:
    return A @ layer.weight


def _linear_matrix(layer: AffineLayer) -> np.ndarray:
    return layer.weight.detach().double().cpu().numpy()


# --- Conv2d -------------------------------------------------------------------------------


def _conv_check(layer: nn.Conv2d) -> Optional[str]:
    if layer.padding_mode != "zeros":
        return f"padding_mode={layer.padding_mode!r} is not supported (only 'zeros')"
    if isinstance(layer.padding, str):
        return f"padding={layer.padding!r} is not supported; give it as numbers"
    return None


def _conv_options(layer: nn.Conv2d) -> dict:
    return dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)


def _conv_interval(layer: nn.Conv2d, l: torch.Tensor, u: torch.Tensor) -> Box:
    opts = _conv_options(layer)
    mid, rad = (u + l) / 2, (u - l) / 2
    W = layer.weight.detach().to(l)
    b = None if layer.bias is None else layer.bias.detach().to(l)
    centre, radius = F.conv2d(mid, W, b, **opts), F.conv2d(rad, W.abs(), None, **opts)
    return centre - radius, centre + radius


def _conv_lower(position: int, layer: nn.Conv2d, shape: Shape, dtype, device) -> AffineLayer:
    opts = _conv_options(layer)
    if len(shape) != 3 or shape[0] != layer.in_channels:
        raise ValueError(f"layer {position} (Conv2d) expects ({layer.in_channels}, H, W) inputs, gets shape {shape}")
    weight = layer.weight.detach().to(dtype=dtype, device=device).clone()
    with torch.no_grad():
        out_shape = tuple(F.conv2d(torch.zeros(1, *shape, dtype=dtype, device=device), weight, None,
                                   **opts).shape[1:])
    bias = (torch.zeros(out_shape[0], dtype=dtype, device=device) if layer.bias is None
            else layer.bias.detach().to(dtype=dtype, device=device))
    # the transposed convolution must give back exactly the input's height and width
    opts["output_padding"] = tuple(
        shape[1 + d] - ((out_shape[1 + d] - 1) * layer.stride[d] - 2 * layer.padding[d]
                        + layer.dilation[d] * (layer.kernel_size[d] - 1) + 1) for d in (0, 1))
    per_entry = out_shape[1] * out_shape[2]
    return AffineLayer(position, "Conv2d", shape, out_shape, weight, bias.repeat_interleave(per_entry), opts)


def _conv_forward(layer: AffineLayer, z: torch.Tensor, absolute: bool) -> torch.Tensor:
    opts = {k: v for k, v in layer.conv.items() if k != "output_padding"}
    W = layer.weight.abs() if absolute else layer.weight
    return F.conv2d(z.reshape(-1, *layer.in_shape), W, None, **opts).flatten(1)


def _transposed_conv(layer: AffineLayer, A: torch.Tensor, size: Tuple[int, int], padding) -> torch.Tensor:
    """The transposed convolution of ``A`` ``(N, C_out, h, w)`` onto ``(N, C_in, *size)``: one
    matrix product for all ``N`` (the kernel's taps of every pixel), then the taps summed
    into place (``F.fold``); grouped convolutions by ``F.conv_transpose2d``."""
    opts = {k: layer.conv[k] for k in ("stride", "dilation")}
    n, c_out, h, w = A.shape
    if layer.conv["groups"] != 1:
        extra = [size[d] - ((A.shape[2 + d] - 1) * opts["stride"][d] - 2 * (padding if padding == 0 else padding[d])
                            + opts["dilation"][d] * (layer.weight.shape[2 + d] - 1) + 1) for d in (0, 1)]
        return F.conv_transpose2d(A, layer.weight, None, groups=layer.conv["groups"], padding=padding,
                                  output_padding=tuple(extra), **opts)
    cols = torch.matmul(layer.weight.reshape(c_out, -1).t(), A.reshape(n, c_out, h * w))
    return F.fold(cols, size, layer.weight.shape[-2:], padding=padding, **opts)


def _conv_backward(layer: AffineLayer, A: torch.Tensor) -> torch.Tensor:
    batch, m = A.shape[:2]
    out = _transposed_conv(layer, A.reshape(batch * m, *layer.out_shape), layer.in_shape[1:], layer.conv["padding"])
    return out.reshape(batch, m, layer.n_in)


def _conv_backward_window(layer: AffineLayer, A: torch.Tensor, corner: torch.Tensor):
    # output pixel o reads inputs o*stride - padding + dilation*i, i < kernel: a window of
    # outputs from corner a maps onto the window of inputs from a*stride - padding that
    # the transposed convolution without padding returns, pixels past the border included
    batch, m, c_out, h, w = A.shape
    (sh, sw), (dh, dw), (kh, kw) = layer.conv["stride"], layer.conv["dilation"], layer.weight.shape[-2:]
    size = ((h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1)
    out = _transposed_conv(layer, A.reshape(batch * m, c_out, h, w), size, 0)
    stride = torch.tensor(layer.conv["stride"], device=corner.device)
    padding = torch.tensor(layer.conv["padding"], device=corner.device)
    return out.reshape(batch, m, *out.shape[1:]), corner * stride - padding


def gather_windows(maps: torch.Tensor, corner: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """The ``size = (h, w)`` windows of per-pixel ``maps`` ``(batch, C, H, W)`` whose top-left
    pixels are ``corner`` ``(m, 2)`` (long; may lie past the border, where the windows
    read zeros). Returns ``(batch, m, C, h, w)``, contiguous."""
    (h, w), (H, W) = size, maps.shape[-2:]
    top = max(0, -int(corner[:, 0].min()))
    left = max(0, -int(corner[:, 1].min()))
    bottom = max(0, int(corner[:, 0].max()) + h - H)
    right = max(0, int(corner[:, 1].max()) + w - W)
    padded = F.pad(maps, (left, right, top, bottom))
    rows = (corner[:, 0] + top)[:, None] + torch.arange(h, device=corner.device)       # (m, h)
    cols = (corner[:, 1] + left)[:, None] + torch.arange(w, device=corner.device)      # (m, w)
    out = padded[:, :, rows[:, :, None], cols[:, None, :]]                              # (batch, C, m, h, w)
    return out.transpose(1, 2).contiguous()


def _conv_matrix(layer: AffineLayer):
    """The sparse matrix of the convolution (no bias) on flattened ``(C, H, W)`` inputs,
    ``(C_out * H_out * W_out, C * H * W)``: entry ``(o, i)`` is the kernel weight that
    input pixel ``i`` meets at output position ``o``; zero padding drops the taps that
    fall outside the image."""
    from scipy.sparse import csr_matrix
    c_in, h, w = layer.in_shape
    weight = layer.weight.detach().double().cpu().numpy()
    c_out, per_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = layer.conv["stride"], layer.conv["padding"], layer.conv["dilation"]
    _, h_out, w_out = layer.out_shape
    co, ho, wo, cg, i, j = np.meshgrid(np.arange(c_out), np.arange(h_out), np.arange(w_out),
                                       np.arange(per_group), np.arange(kh), np.arange(kw), indexing="ij")
    ci = (co // (c_out // layer.conv["groups"])) * per_group + cg      # the input channel a tap reads
    hi, wi = ho * sh - ph + i * dh, wo * sw - pw + j * dw
    keep = (hi >= 0) & (hi < h) & (wi >= 0) & (wi < w)
    rows = ((co * h_out + ho) * w_out + wo)[keep]
    cols = ((ci * h + hi) * w + wi)[keep]
    return csr_matrix((weight[co, cg, i, j][keep], (rows, cols)), shape=(layer.n_out, layer.n_in))


# --- ReLU ---------------------------------------------------------------------------------


def _relu_interval(layer: nn.ReLU, l: torch.Tensor, u: torch.Tensor) -> Box:
    return l.clamp(min=0), u.clamp(min=0)


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerRule:
    """The rules of one layer type. ``kind``: ``"reshape"``, ``"affine"`` or ``"relu"``."""
    name: str
    kind: str
    interval: Callable
    lower: Optional[Callable] = None
    check: Optional[Callable] = None
    forward: Optional[Callable] = None
    backward: Optional[Callable] = None
    backward_window: Optional[Callable] = None
    matrix: Optional[Callable] = None
    phases: Optional[Callable] = None
    relaxation: Optional[Callable] = None
    bigm_rows: Optional[Callable] = None
    hull_cuts: Optional[Callable] = None


FLATTEN = LayerRule("Flatten", "reshape", _flatten_interval, lower=_flatten_lower, check=_flatten_check)
LINEAR = LayerRule("Linear", "affine", _linear_interval, lower=_linear_lower, forward=_linear_forward,
                   backward=_linear_backward, matrix=_linear_matrix)
CONV2D = LayerRule("Conv2d", "affine", _conv_interval, lower=_conv_lower, check=_conv_check, forward=_conv_forward,
                   backward=_conv_backward, backward_window=_conv_backward_window, matrix=_conv_matrix)
RELU = LayerRule("ReLU", "relu", _relu_interval, phases=relu_phases, relaxation=relu_relaxation,
                 bigm_rows=relu_bigm_rows, hull_cuts=relu_hull_cuts)

RULES: Dict[Type[nn.Module], LayerRule] = {nn.Flatten: FLATTEN, nn.Linear: LINEAR, nn.Conv2d: CONV2D,
                                           nn.ReLU: RELU}
"""Layer type -> its rules."""

LAYER_RULES: Dict[str, LayerRule] = {rule.name: rule for rule in RULES.values()}
"""The same rules by name (an ``AffineLayer`` keeps only its kind's name)."""


def rule_for(layer: nn.Module, position: int) -> LayerRule:
    """The rules of ``layer`` (the ``position``-th module of a model), or a
    ``NotImplementedError`` naming it, its position and what is supported. The chapter's
    own ``class Flatten(nn.Module)`` counts as a Flatten."""
    rule = next((r for kind, r in RULES.items() if isinstance(layer, kind)), None)
    if rule is None and type(layer).__name__ == "Flatten":
        rule = FLATTEN
    if rule is None:
        raise NotImplementedError(
            f"layer {position} ({type(layer).__name__}: {layer!r}) has no bound rule; the verifiers support "
            f"{', '.join(r.name for r in RULES.values())}")
    problem = rule.check(layer) if rule.check is not None else None
    if problem:
        raise NotImplementedError(f"layer {position} ({type(layer).__name__}): {problem}")
    return rule
