"""Wrong answers for the exercises of notebook 01 (loss surfaces, the three sides)."""

WRONG = {
    "1.1": [
        # the number of changes, not of pieces
        ("""s = torch.linspace(-1, 1, num).reshape(-1, 1, 1, 1)
patterns = activation_patterns(model, x + s * d)
return int((patterns[1:] != patterns[:-1]).any(dim=1).sum())""", "n + 1 pieces"),
        # only half the segment: from x to x + d
        ("""s = torch.linspace(0, 1, num).reshape(-1, 1, 1, 1)
patterns = activation_patterns(model, x + s * d)
return int((patterns[1:] != patterns[:-1]).any(dim=1).sum()) + 1""", "from x − d to x + d"),
        # the units of the first hidden layer only
        ("""h = x + torch.linspace(-1, 1, num).reshape(-1, 1, 1, 1) * d
with torch.no_grad():
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            break
pattern = h > 0
return int((pattern[1:] != pattern[:-1]).any(dim=1).sum()) + 1""", "EVERY nn.ReLU"),
        # every unit that switches counted separately
        ("""s = torch.linspace(-1, 1, num).reshape(-1, 1, 1, 1)
patterns = activation_patterns(model, x + s * d)
return int((patterns[1:] != patterns[:-1]).sum()) + 1""", "once each"),
    ],
    "1.2": [("answer = 101", "peak inside it"), ("answer = 30", "monotone"),
            ("answer = 0.69", "looks like a share"), ('answer = "b"', "answer with a number")],
    "1.3": [('answer = "a"', "proves nothing there"), ('answer = "b"', "usually strictly"),
            ('answer = "d"', "the balls are nested")],
    "1.4": [
        ("""answer = count_linear_pieces(load_model("regression", device="cpu"), -3.0, 3.0)""", "the trained network"),
        ("""answer = count_linear_pieces(train.train_regression(seed=1, steps=0), -3.0, 3.0)""", "seed 0"),
        ("answer = (265, 264)", "answer with one count"),
    ],
}
