"""Wrong answers for the exercises of notebook 01 (loss surfaces, the three ways)."""

WRONG = {
    "1.1": [
        # only the first hidden layer's units
        ("""h = torch.linspace(lo, hi, num)[:, None]
with torch.no_grad():
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            break
pattern = h > 0
return int((pattern[1:] != pattern[:-1]).any(dim=1).sum()) + 1""", "EVERY nn.ReLU"),
        # the number of changes, not of pieces
        ("""h = torch.linspace(lo, hi, num)[:, None]
patterns = []
with torch.no_grad():
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            patterns.append(h > 0)
pattern = torch.cat(patterns, dim=1)
return int((pattern[1:] != pattern[:-1]).any(dim=1).sum())""", "n + 1 pieces"),
        # every unit that switches counted separately
        ("""h = torch.linspace(lo, hi, num)[:, None]
patterns = []
with torch.no_grad():
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            patterns.append(h > 0)
pattern = torch.cat(patterns, dim=1)
return int((pattern[1:] != pattern[:-1]).sum()) + 1""", "once each"),
    ],
    "1.2": [('answer = "a"', "only describes the piece"), ('answer = "c"', "monotone"),
            ('answer = "e"', "answer with one of")],
    "1.3": [('answer = "a"', "a bound, not the margin"), ('answer = "b"', "proves nothing")],
}
