"""Wrong answers for the exercises of notebook 02 (FGSM)."""

WRONG = {
    "2.1": [
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
return epsilon * delta.grad.sign()""", "its own ℓ2 norm"),
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
return epsilon * delta.grad / delta.grad.norm()""", "its own ℓ2 norm"),
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
g = delta.grad.detach().abs()
return epsilon * g / g.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)""", "keep its sign"),
        ("""return epsilon * X.grad""", "raised"),
    ],
}
