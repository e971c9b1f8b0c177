"""Wrong answers for the exercises of notebook 03 (PGD, restarts)."""

_LOSS = "nn.CrossEntropyLoss(reduction=\"none\")(model(X + delta), y)"

WRONG = {
    "3.1": [
        # keeps the run with the best mean loss for the whole batch
        (f"""best_delta, best = None, None
for _ in range(restarts):
    delta = attack(model, X, y)
    loss = {_LOSS}.mean()
    if best is None or loss > best:
        best_delta, best = delta, loss
return best_delta""", "choose per image"),
        # forgets to compare: the last run wins
        ("""for _ in range(restarts):
    delta = attack(model, X, y)
return delta""", "the last run"),
        # keeps misclassified runs instead of the highest loss
        ("""best_delta = attack(model, X, y)
for _ in range(restarts - 1):
    delta = attack(model, X, y)
    wrong = model(X + delta).argmax(1) != y
    best_delta[wrong] = delta[wrong]
return best_delta""", "HIGHEST cross-entropy loss"),
        # one call too many
        (f"""best_delta = attack(model, X, y)
best_loss = nn.CrossEntropyLoss(reduction="none")(model(X + best_delta), y)
for _ in range(restarts):
    delta = attack(model, X, y)
    loss = {_LOSS}
    better = loss > best_loss
    best_delta[better] = delta[better]
    best_loss = torch.max(best_loss, loss)
return best_delta""", "exactly `restarts` times"),
        # averages the runs
        ("""return sum(attack(model, X, y) for _ in range(restarts)) / restarts""", "none of the attack's results"),
    ],
    "3.2": [('answer = "a"', "largest per-image gradient"), ('answer = "c"', "median image")],
    "3.3": [('answer = "b"', "scale-free"), ('answer = "d"', "the projection stays")],
}
