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
    "2.2": [('answer = "a"', "not back to x"), ('answer = "c"', "outside [0, 1]"),
            ('answer = "d"', "its own gradient entry"), ("answer = 2", "answer with one of")],
    "2.3": [('answer = "a"', "cheapness"), ('answer = "d"', "square root")],
    "2.4": [
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
return epsilon * delta.grad.sign()""", "outside [0, 1]"),
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
return (epsilon * delta.grad.sign()).clamp(0, 1)""", "clip δ entry by entry to [−x, 1 − x]"),
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
return torch.min(torch.max(epsilon * delta.grad, -X), 1 - X)""", "take ε·sign(g)"),
        ("""delta = torch.zeros_like(X, requires_grad=True)
torch.nn.functional.cross_entropy(model(X + delta), y).backward()
return (X + epsilon * delta.grad.sign()).clamp(0, 1)""", "you returned x + δ"),
    ],
}
