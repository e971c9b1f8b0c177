"""Wrong answers for the exercises of notebook 03 (PGD, the spread of gradient scales)."""

_LOOP = """delta = torch.zeros_like(X, requires_grad=True)
m = torch.zeros_like(X)
for _ in range(num_iter):
    loss = nn.functional.cross_entropy(model(X + delta), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, delta)
{update}
    delta = (delta + alpha * m.sign()).clamp(-epsilon, epsilon).detach().requires_grad_(True)
return delta.detach()"""

WRONG = {
    "3.1": [
        ("share = 0.95", "median, not the mean"),          # trusts the mean: 1e4 x 5e-4 = 5 >> ε
        ("share = 0.0", "some images have large gradients"),
        ("share = 21", "between 0 and 1"),
        ('share = "a fifth"', "should be a number"),
    ],
    "3.2": [
        # no normalisation
        (_LOOP.format(update="    m = mu * m + g"), "own ℓ1 norm"),
        # the whole batch's ℓ1 norm
        (_LOOP.format(update="    m = mu * m + g / g.abs().sum()"), "each image separately"),
        # the ℓ2 norm instead of the ℓ1 norm
        (_LOOP.format(update="    m = mu * m + g / g.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)"),
         "divides by the ℓ1 norm"),
        # momentum of the signs
        (_LOOP.format(update="    m = mu * m + g.sign()"), "take the sign only for the step"),
        # m forgotten between steps: pgd_linf
        (_LOOP.format(update="    m = g / g.abs().flatten(1).sum(dim=1).reshape(-1, 1, 1, 1)"), "this is pgd_linf"),
        # no clip
        ("""delta = torch.zeros_like(X, requires_grad=True)
m = torch.zeros_like(X)
for _ in range(num_iter):
    (g,) = torch.autograd.grad(nn.functional.cross_entropy(model(X + delta), y, reduction="sum"), delta)
    m = mu * m + g / g.abs().flatten(1).sum(dim=1).reshape(-1, 1, 1, 1)
    delta = (delta + alpha * m.sign()).detach().requires_grad_(True)
return delta.detach()""", "clip δ to [-ε, ε]"),
    ],
    "3.3": [
        # the chapter's setting: clamp off
        ("""errors = {}
for alpha in (0.001, 0.0025, 0.01, 0.1):
    delta = package.pgd_linf(models["dnn2"], X[:500], y[:500], 0.1, alpha, 40, clamp=False)
    with torch.no_grad():
        errors[alpha] = (models["dnn2"](X[:500] + delta).argmax(1) != y[:500]).float().mean().item()""",
         "clamp off"),
        # one step size missing
        ("errors = {0.001: 0.2, 0.01: 0.9, 0.1: 0.9}", "no error for α = 0.0025"),
        # percentages
        ("errors = {0.001: 17.0, 0.0025: 84.0, 0.01: 86.0, 0.1: 86.0}", "not a rate in [0, 1]"),
        # guessed: every α alike
        ("errors = {0.001: 0.86, 0.0025: 0.86, 0.01: 0.86, 0.1: 0.86}", "differs from this check's measurement"),
    ],
    "3.4": [
        ('answer = "a"', "its loss is steep"),
        ('answer = "c"', "the clamp is off"),
        ('answer = "d"', "the loss is steep there"),
    ],
}
