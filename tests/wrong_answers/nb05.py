"""Wrong answers for the exercises of notebook 05 (targeted attacks, ℓ2 attacks)."""

WRONG = {
    "5.1": [
        # the max over all classes, the true one included
        ("""return logits.amax(dim=1) - logits.gather(1, y[:, None])[:, 0]""", "exclude the true class"),
        # the sign flipped: the margin itself
        ("""others = logits.scatter(1, y[:, None], float("-inf"))
return logits.gather(1, y[:, None])[:, 0] - others.amax(dim=1)""", "the sign is flipped"),
        # the sum of the other logits (the chapter's second objective, untargeted)
        ("""z_y = logits.gather(1, y[:, None])[:, 0]
return (logits.sum(dim=1) - z_y) - z_y""", "LARGEST other logit"),
        # one number for the batch
        ("""others = logits.scatter(1, y[:, None], float("-inf"))
return (others.amax(dim=1) - logits.gather(1, y[:, None])[:, 0]).sum()""", "one value per image"),
        # right values, but cut off from autograd
        ("""others = logits.detach().scatter(1, y[:, None], float("-inf"))
return others.amax(dim=1) - logits.detach().gather(1, y[:, None])[:, 0]""", "no .detach()"),
    ],
    "5.2": [
        # Γ computed directly: overflows at n = 784
        ("""return 2 * epsilon / math.sqrt(math.pi) * math.gamma(n / 2 + 1) ** (1 / n)""", "log space"),
        # Stirling's approximation
        ("""return epsilon * math.sqrt(2 * n / (math.pi * math.e))""", "Stirling"),
        # the cube's side taken as ε instead of 2ε
        ("""return epsilon / math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1) / n)""", "side 2ε"),
        # the n-th root forgotten
        ("""return 2 * epsilon / math.sqrt(math.pi) * math.exp(math.lgamma(n / 2 + 1))""", "n-th root"),
    ],
    "5.3": [
        ("""answer = "a\"""", "whatever |g| is"),
        ("""answer = "c\"""", "neither saturates"),
        ("""answer = "d\"""", "cancels the target's own term"),
    ],
}
