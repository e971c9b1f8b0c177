"""Wrong answers for the exercises of notebook 04 (steepest descent, ℓ2 attacks, radii across norms)."""

WRONG = {
    "4.1": [
        ("predicted = (0.5, 0.7, 0.9)", "FGSM with ε = 0.01"),        # one small step taken for a big one
        ("predicted = (0.05, 0.7, 0.85)", "radius 0.05"),               # five steps taken for the whole ball
        ("predicted = (0.05, 0.25, 0.5)", "four times"),                # forty steps no better than five
        ("predicted = (5, 25, 85)", "between 0 and 1"),
        ("predicted = 0.85", "three numbers"),
    ],
    "4.2": [
        # rescaling, as for ℓ2: in the ball, not the nearest point
        ("""size = delta.flatten(1).abs().sum(dim=1).clamp(min=epsilon)
return delta * (epsilon / size).reshape(-1, 1, 1, 1)""", "instead of multiplying by a factor"),
        # the whole batch as one vector
        ("""flat = delta.reshape(1, -1)
size = flat.abs()
top = size.sort(dim=1, descending=True).values
excess = top.cumsum(dim=1) - epsilon
j = torch.arange(1, flat.shape[1] + 1, dtype=flat.dtype)
kept = (top - excess / j > 0).sum(dim=1, keepdim=True)
theta = (excess.gather(1, kept - 1) / kept).clamp(min=0)
return (flat.sign() * (size - theta).clamp(min=0)).reshape(delta.shape)""", "one projection per image"),
        # the sign forgotten
        ("""flat = delta.flatten(1)
size = flat.abs()
top = size.sort(dim=1, descending=True).values
excess = top.cumsum(dim=1) - epsilon
j = torch.arange(1, flat.shape[1] + 1, dtype=flat.dtype)
kept = (top - excess / j > 0).sum(dim=1, keepdim=True)
theta = (excess.gather(1, kept - 1) / kept).clamp(min=0)
return (size - theta).clamp(min=0).reshape(delta.shape)""", "keep each entry's sign"),
        # every image projected onto the sphere, inside ones too
        ("""flat = delta.flatten(1)
size = flat.abs()
top = size.sort(dim=1, descending=True).values
excess = top.cumsum(dim=1) - epsilon
j = torch.arange(1, flat.shape[1] + 1, dtype=flat.dtype)
kept = (top - excess / j > 0).sum(dim=1, keepdim=True)
theta = excess.gather(1, kept - 1) / kept
return (flat.sign() * (size - theta).clamp(min=0)).reshape(delta.shape)""", "its own projection"),
        # θ from the wrong number of entries (always all of them)
        ("""flat = delta.flatten(1)
theta = ((flat.abs().sum(dim=1, keepdim=True) - epsilon) / flat.shape[1]).clamp(min=0)
return (flat.sign() * (flat.abs() - theta).clamp(min=0)).reshape(delta.shape)""", "leave the ball"),
    ],
    "4.3": [
        # Γ computed directly: overflows at n = 784
        ("""return 2 * epsilon / math.sqrt(math.pi) * math.gamma(n / 2 + 1) ** (1 / n)""", "log space"),
        # Stirling's approximation
        ("""return epsilon * math.sqrt(2 * n / (math.pi * math.e))""", "Stirling"),
        # the cube's side taken as ε instead of 2ε
        ("""return epsilon / math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1) / n)""", "side 2ε"),
        # the n-th root forgotten
        ("""return 2 * epsilon / math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1))""", "n-th root"),
    ],
    "4.4": [
        # the chapter's ℓ∞ setting: clamp off
        ("""X500, y500 = X[:500], y[:500]
deltas = {"l2 1.35": pgd_l2_package(dnn2, X500, y500, 1.35, 1.35 / 20, 40, clamp=False),
          "l2 2": pgd_l2_package(dnn2, X500, y500, 2.0, 0.1, 40, clamp=False),
          "linf 0.1": pgd_linf(dnn2, X500, y500, 0.1, 0.01, 40, clamp=False)}
with torch.no_grad():
    errors = {key: (dnn2(X500 + d).argmax(1) != y500).float().mean().item() for key, d in deltas.items()}""",
         "clamp off"),
        ("""errors = {"l2": 0.8, "linf": 0.86}""", "expected a dict with the keys"),
        ("""errors = {"l2 1.35": 78, "l2 2": 96, "linf 0.1": 86}""", "between 0 and 1"),
        ("""errors = {"l2 1.35": 0.9, "l2 2": 0.96, "linf 0.1": 0.86}""", "differs from this check's measurement"),
    ],
    "4.5": [
        ('answer = "a"', "speed is not the reason"),
        ('answer = "b"', "never leaves the ball"),
        ('answer = "c"', "the clamp's job"),
    ],
}
