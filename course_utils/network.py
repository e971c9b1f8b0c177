"""A ReLU network lowered once into affine layers, for every verifier (chapter 3,
"A mixed integer programming formulation"; notebooks 06-09).

``lower(model, input_shape)`` walks the model once with the rules of
``course_utils.layers`` and returns a :class:`LoweredNetwork`: its ``Linear`` /
``Conv2d`` layers as affine maps on flattened vectors, with ReLU between them, and the
map between a layer's position in the model and its place among the affine layers.
CROWN (``bounds``), both program writers (``programs``), bound tightening and the MIP
starts (``verify``) all read this one object; the model itself is never touched again.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .guard import check_network
from .layers import AffineLayer, Shape, rule_for


@dataclass
class LoweredNetwork:
    """``layers``: the affine layers in order (the last gives the logits), a ReLU after
    each but the last; ``input_shape``: one input without the batch dimension, e.g.
    ``(1, 28, 28)``; ``dtype`` / ``device``: of the torch side (CROWN)."""
    layers: List[AffineLayer]
    input_shape: Shape
    dtype: torch.dtype
    device: torch.device

    @property
    def num_hidden(self) -> int:
        """Hidden (ReLU) layers: all affine layers but the last."""
        return len(self.layers) - 1

    @property
    def num_logits(self) -> int:
        return self.layers[-1].n_out

    @property
    def widths(self) -> List[int]:
        """Neurons of each hidden layer."""
        return [layer.n_out for layer in self.layers[:-1]]

    def position(self, module_index: int) -> int:
        """Which affine layer the model's module ``module_index`` is (``ValueError`` if none)."""
        for k, layer in enumerate(self.layers):
            if layer.index == module_index:
                return k
        raise ValueError(f"module {module_index} of the model is not a Linear or Conv2d layer")

    def matrices(self) -> List[Tuple[object, np.ndarray]]:
        """``[(W, b), ...]`` of every affine layer for the solvers (float64 numpy; a
        convolution's ``W`` is ``scipy.sparse``)."""
        return [(layer.matrix, layer.offset) for layer in self.layers]

    def hidden_bounds(self, bounds: Sequence[Tuple[torch.Tensor, torch.Tensor]], box: int = 0
                      ) -> List[Tuple[np.ndarray, np.ndarray]]:
        """The pre-activation bounds of every hidden layer, flattened float64 numpy, picked
        out of a per-module list such as ``bound_propagation``'s (the chapter's
        notation, ``bounds[i]`` for module ``i``), for the ``box``-th box of its batch."""
        out = []
        batch = bounds[0][0].shape[0]
        if isinstance(box, bool) or not isinstance(box, numbers.Integral) or not 0 <= box < batch:
            raise ValueError(f"box must be the index of a box of the batch, an integer in 0 .. {batch - 1}, got {box!r}")
        for layer in self.layers[:-1]:
            l, u = bounds[layer.index]
            out.append(tuple(t[box].reshape(-1).detach().double().cpu().numpy() for t in (l, u)))
        return out

    def pre_activations(self, x: np.ndarray) -> List[np.ndarray]:
        """The pre-activations of every affine layer at the flattened input ``x``
        (``(n_in,)``, float64 numpy): what the network computes, layer by layer."""
        a, out = np.asarray(x, float), []
        if a.shape != (self.layers[0].n_in,):
            raise ValueError(f"x must be one flattened input of {self.layers[0].n_in} numbers, got shape {a.shape}")
        for W, b in self.matrices():
            pre = W @ a + b
            out.append(pre)
            a = np.maximum(pre, 0.0)
        return out


def lower(model: nn.Module, input_shape: Sequence[int], dtype: torch.dtype = torch.float64,
          device="cpu") -> LoweredNetwork:
    """Lower ``model`` (an ``nn.Sequential`` of ``Flatten``, ``Linear``, ``Conv2d`` and
    ``ReLU``, a ReLU after every affine layer but the last) for inputs of ``input_shape``
    (one input, e.g. ``(1, 28, 28)``). Weights are copied to ``dtype`` and ``device``;
    the model is neither moved nor changed.

    Raises:
        NotImplementedError: a layer without rules (named, with its position), or a
            structure the programs cannot encode (two affine layers without a ReLU
            between them, a ReLU that follows no affine layer, no affine last layer).
    """
    shape, layers, after_affine = _check_lowering(model, input_shape, dtype, device), [], False
    with torch.no_grad():
        for position, module in enumerate(model):
            rule = rule_for(module, position)
            if rule.kind == "affine":
                if after_affine:
                    raise NotImplementedError(f"layer {position} ({rule.name}) follows another affine layer "
                                              "with no ReLU between them; the verifiers need affine and "
                                              "ReLU layers in turn")
                layers.append(rule.lower(position, module, shape, dtype, device))
                shape, after_affine = layers[-1].out_shape, True
            elif rule.kind == "relu":
                if not after_affine:
                    raise NotImplementedError(f"layer {position} (ReLU) must follow a Linear or Conv2d layer")
                after_affine = False
            else:
                shape = rule.lower(position, module, shape, dtype, device)
    if not after_affine:
        raise NotImplementedError("the network must end with a Linear (or Conv2d) layer: its logits")
    return LoweredNetwork(layers, tuple(int(s) for s in input_shape), dtype, torch.device(device))


def _check_lowering(model, input_shape, dtype, device) -> Shape:
    """``lower``'s arguments: an ``nn.Sequential``, a shape of whole numbers >= 1, a
    floating dtype, a device this machine has. Returns the shape as a tuple."""
    from .config import check_device
    check_network(model)
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if not shape or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise ValueError(f"input_shape must be one input's shape without the batch dimension, whole numbers "
                         f">= 1 such as (1, 28, 28); got {input_shape!r}")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating torch dtype such as torch.float64, got {dtype!r}")
    check_device(device, "lower(device=...)")
    return tuple(int(s) for s in shape)
