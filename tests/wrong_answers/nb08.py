"""Wrong answers for the exercises of notebook 08 (interval bounds)."""

WRONG = {
    "8.1": [
        # the l∞ box's radius, ε‖w‖₁
        ("""centre = X @ W.t() + b
return centre - epsilon * W.abs().sum(1), centre + epsilon * W.abs().sum(1)""", "Cauchy–Schwarz"),
        # one norm for the whole matrix
        ("""centre = X @ W.t() + b
return centre - epsilon * W.norm(), centre + epsilon * W.norm()""", "W.norm(dim=1)"),
        # the bias forgotten
        ("""centre = X @ W.t()
return centre - epsilon * W.norm(dim=1), centre + epsilon * W.norm(dim=1)""", "add the bias"),
        # only one bound returned
        ("""return X @ W.t() + b - epsilon * W.norm(dim=1)""", "return both bounds"),
    ],
    "8.2": [
        ('answer = "a"', "rounding moves them"),
        ('answer = "b"', "never widens"),
        ('answer = "c"', "the clamp only removes width"),
    ],
    "8.3": [
        ('answer = "a"', "exact to about 1e-9"),
        ('answer = "c"', "the same box"),
        ('answer = "d"', "the same l and u"),
    ],
    "8.4": [
        # the radii swapped
        ("""answer = {"small": 0.0016, "dnn4": 0.0083}""", "swapped"),
        # a grid search with steps of 0.001
        ("""answer = {"small": 0.008, "dnn4": 0.001}""", "bisect further"),
        # the radius up to which ONE target is proven
        ("""answer = {}
for name in ("small", "dnn4"):
    low, high = 0.0, 0.05
    for _ in range(16):
        middle = (low + high) / 2
        bound = package.interval_based_bound(models[name], objective_matrix(label), bound_propagation(models[name], linf_box(x.double(), middle)))
        low, high = (middle, high) if (bound > 0).any() else (low, middle)
    answer[name] = low""", "every one of the nine"),
        # not the dict asked for
        ("""answer = 0.0083""", "answer with a dict"),
    ],
}
