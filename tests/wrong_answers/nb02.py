"""Wrong answers for the exercises of notebook 02 (FGSM)."""

WRONG = {
    "2.1": [("answer = 0.155", "not grow in proportion to ε"), ("answer = 0.025", "closest to a decision boundary"),
            ("answer = 7", "fractions of the images"), ('answer = "low"', "a number between 0 and 1")],
    "2.2": [
        # climbs the target's loss instead of descending it
        ("""with torch.no_grad():
    t = model(X).argmin(dim=1)
return clamp_images(X, fgsm_package(model, X, t, epsilon, clamp=False))""", "goes down the loss of t"),
        # untargeted FGSM on the true label
        ("""return fgsm_package(model, X, y, epsilon)""", "FGSM on the true label"),
        # forgets the clamp
        ("""with torch.no_grad():
    t = model(X).argmin(dim=1)
return -fgsm_package(model, X, t, epsilon, clamp=False)""", "clip δ to [−x, 1 − x]"),
        # the predicted class as the target
        ("""with torch.no_grad():
    t = model(X).argmax(dim=1)
return clamp_images(X, -fgsm_package(model, X, t, epsilon, clamp=False))""", "LOWEST logit"),
        # returns the attacked images
        ("""with torch.no_grad():
    t = model(X).argmin(dim=1)
return X + clamp_images(X, -fgsm_package(model, X, t, epsilon, clamp=False))""", "you returned x + δ"),
    ],
    "2.3": [('answer = "b"', "convex"), ('answer = "c"', "never exactly 0 or 1"),
            ('answer = "d"', "not a function of one number")],
    "2.4": [
        # FGSM's errors instead of random corners
        ("""err = lambda d: (models["dnn2"](X[:1000] + d).argmax(1) != y[:1000]).float().mean().item()
attack = lambda e, c: fgsm_package(models["dnn2"], X[:1000], y[:1000], e, clamp=c)
answer = {"off": tuple(err(attack(e, False)) for e in (0.1, 0.3)),
          "on": tuple(err(attack(e, True)) for e in (0.1, 0.3))}""",
         "those are FGSM's errors"),
        # clamped and unclamped swapped
        ("""s = torch.randint(0, 2, X[:1000].shape, generator=torch.Generator().manual_seed(1)) * 2.0 - 1
err = lambda d: (models["dnn2"](X[:1000] + d).argmax(1) != y[:1000]).float().mean().item()
answer = {"on": tuple(err(e * s) for e in (0.1, 0.3)),
          "off": tuple(err(clamp_images(X[:1000], e * s)) for e in (0.1, 0.3))}""", "swapped"),
        # uniform noise instead of corners
        ("""s = torch.randint(0, 2, X[:1000].shape, generator=torch.Generator().manual_seed(1)) * 2.0 - 1
u = torch.rand(X[:1000].shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
err = lambda d: (models["dnn2"](X[:1000] + d).argmax(1) != y[:1000]).float().mean().item()
answer = {"off": tuple(err(e * s) for e in (0.1, 0.3)),
          "on": tuple(err(clamp_images(X[:1000], e * u)) for e in (0.1, 0.3))}""", "exactly ±ε"),
        ('answer = {"off": (3.1, 6.0), "on": (3.2, 30.0)}', "fractions of the images"),
        ('answer = (0.03, 0.3)', 'the keys "off" and "on"'),
    ],
    "2.5": [('answer = "a"', "not back to x"), ('answer = "b"', "outside [0, 1]"),
            ('answer = "c"', "its own gradient entry"), ("answer = 2", "answer with one of")],
}
