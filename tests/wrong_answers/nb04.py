"""Wrong answers for the exercises of notebook 04 (normalized steepest descent)."""

WRONG = {
    "4.1": [
        # the l∞ direction: every pixel moves
        ("""return g.sign()""", "ONE coordinate"),
        # the largest g_i instead of the largest |g_i|
        ("""flat = g.flatten(1)
top = flat.argmax(dim=1)
v = torch.zeros_like(flat)
v[torch.arange(flat.shape[0]), top] = 1.0
return v.reshape(g.shape)""", "largest |g_i|"),
        # the right coordinate, but always +1
        ("""flat = g.flatten(1)
top = flat.abs().argmax(dim=1)
v = torch.zeros_like(flat)
v[torch.arange(flat.shape[0]), top] = 1.0
return v.reshape(g.shape)""", "keep the sign"),
        # one coordinate for the whole batch
        ("""flat = g.reshape(-1)
v = torch.zeros_like(flat)
top = flat.abs().argmax()
v[top] = flat[top].sign()
return v.reshape(g.shape)""", "of each image"),
    ],
    "4.2": [
        ("""answer = "b\"""", "bounce"),
        ("""answer = "a\"""", "changes sign"),
        ("""answer = "d\"""", "slope 1 everywhere"),
        ("""answer = (1, 0.4)""", "answer with one of"),
    ],
    "4.3": [
        ("""answer = "c\"""", "never leaves the ball"),
        ("""answer = "d\"""", "the clamp"),
        ("""answer = "a\"""", "speed is not the reason"),
    ],
}
