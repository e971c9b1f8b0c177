"""Wrong answers for the exercises of notebook 05 (targeted attacks)."""

_TARGETS = """with torch.no_grad():
    targets = model(X).argmin(dim=1)
"""

WRONG = {
    "5.1": [
        ('answer = "b"', "z_0 has passed z_y"),
        ('answer = "c"', "does not stop at m_0 = 0"),
        ('answer = "d"', "defined for every image"),
        ("answer = 0", "answer with one of"),
    ],
    "5.2": [
        # the most likely wrong class
        ("""with torch.no_grad():
    targets = model(X).scatter(1, y[:, None], float("-inf")).argmax(dim=1)

def objective(logits, labels):
    z_t = logits.gather(1, targets[:, None])[:, 0]
    return z_t - logits.scatter(1, targets[:, None], float("-inf")).amax(dim=1)

return attacks.projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, loss_fn=objective)""",
         "SMALLEST clean logit"),
        # the target chosen anew at every step
        ("""def objective(logits, labels):
    targets = logits.detach().argmin(dim=1)
    z_t = logits.gather(1, targets[:, None])[:, 0]
    return z_t - logits.scatter(1, targets[:, None], float("-inf")).amax(dim=1)

return attacks.projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, loss_fn=objective)""",
         "choose each image's target once"),
        # the chapter's first objective
        (_TARGETS + """return attacks.pgd_linf_targ(model, X, y, epsilon, alpha, num_iter, targets)""",
         "climb the C&W objective"),
        # clamp off
        (_TARGETS + """
def objective(logits, labels):
    z_t = logits.gather(1, targets[:, None])[:, 0]
    return z_t - logits.scatter(1, targets[:, None], float("-inf")).amax(dim=1)

return attacks.projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, loss_fn=objective, clamp=False)""",
         "keep the clamp on"),
        # the notebook's margin_cw with a tensor of targets: indexes whole columns
        (_TARGETS + """
def objective(logits, labels):
    others = logits.clone()
    others[:, targets] = -float("inf")
    return logits[:, targets].diagonal() - others.amax(dim=1)

return attacks.projected_steepest_ascent(model, X, y, epsilon, alpha, num_iter, loss_fn=objective)""",
         "differs from the reference"),
    ],
    "5.3": [
        ('answer = "a"', "whatever |g| is"),
        ('answer = "b"', "neither saturates"),
        ('answer = "d"', "cancels the target's own term"),
    ],
    "5.4": [
        # ε = 0.1
        ("""shares = []
for t in range(10):
    delta = attacks.pgd_linf_targ(models["dnn2"], X[:100], y[:100], 0.1, 0.01, 40, t)
    with torch.no_grad():
        pred = models["dnn2"](X[:100] + delta).argmax(1)
    shares.append((pred[y[:100] != t] == t).float().mean().item())""", "ε = 0.2"),
        # every image counted, those labelled t included
        ("""shares = []
for t in range(10):
    delta = attacks.pgd_linf_targ(models["dnn2"], X[:100], y[:100], 0.2, 0.01, 40, t)
    with torch.no_grad():
        pred = models["dnn2"](X[:100] + delta).argmax(1)
    shares.append((pred == t).float().mean().item())""", "only the images whose label is not t"),
        ("shares = [0.5] * 9", "a list of ten shares"),
        ("shares = [50] * 10", "between 0 and 1"),
    ],
}
