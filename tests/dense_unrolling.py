"""Test helper: a network's Linear and Conv2d layers unrolled into dense matrices, by
applying each layer to the unit basis of its input. Only for small test networks (the
CNN's second convolution would take about 5 GB); the package itself never unrolls a
convolution (``course_utils.network.lower`` gives it a sparse matrix)."""

import torch
import torch.nn as nn

from course_utils.layers import rule_for


def dense_layers(model: nn.Sequential, input_shape):
    """``[(index, W, b), ...]``: each affine layer's position in ``model`` and its dense
    float64 ``W`` (``(n_out, n_in)``) and ``b`` on flattened inputs."""
    shape, out = tuple(input_shape), []
    with torch.no_grad():
        for i, layer in enumerate(model):
            kind = rule_for(layer, i).kind
            if kind == "reshape":
                shape = (int(torch.tensor(shape).prod()),)
            elif kind == "affine":
                layer64 = __import__("copy").deepcopy(layer).double()
                n = int(torch.tensor(shape).prod())
                b = layer64(torch.zeros(1, *shape, dtype=torch.float64))
                basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
                W = (layer64(basis) - b).reshape(n, -1).t().contiguous()
                out.append((i, W, b.reshape(-1)))
                shape = tuple(b.shape[1:])
    return out


def dense_twin(model: nn.Sequential, input_shape) -> nn.Sequential:
    """The same network with every affine layer an ``nn.Linear`` on flattened inputs."""
    affine = dense_layers(model, input_shape)
    dense = [nn.Flatten()]
    for k, (_, W, b) in enumerate(affine):
        lin = nn.Linear(W.shape[1], W.shape[0]).double()
        lin.weight.data, lin.bias.data = W.clone(), b.clone()
        dense += [lin] + ([nn.ReLU()] if k < len(affine) - 1 else [])
    return nn.Sequential(*dense)
