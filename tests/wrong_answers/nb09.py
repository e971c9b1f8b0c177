"""Wrong answers for the exercises of notebook 09 (CROWN's linear bounds, certified accuracy)."""

WRONG = {
    "9.1": [
        # the lower slope always 0
        ("""unstable = (l < 0) & (u > 0)
on = (l >= 0).to(l.dtype)
upper_slope = torch.where(unstable, u / (u - l), on)
upper_offset = torch.where(unstable, -l * upper_slope, torch.zeros_like(l))
return on, upper_slope, upper_offset""", "u >= -l"),
        # the chord's offset with the wrong sign
        ("""unstable = (l < 0) & (u > 0)
on = (l >= 0).to(l.dtype)
upper_slope = torch.where(unstable, u / (u - l), on)
upper_offset = torch.where(unstable, l * upper_slope, torch.zeros_like(l))
lower_slope = torch.where(unstable, (u >= -l).to(l.dtype), on)
return lower_slope, upper_slope, upper_offset""", "-l u / (u - l)"),
        # the chord applied to every neuron, stable ones too
        ("""upper_slope = u / (u - l)
upper_offset = -l * upper_slope
lower_slope = (u >= -l).to(l.dtype)
return lower_slope, upper_slope, upper_offset""", "stable neurons are exact"),
    ],
    "9.2": [
        # the lower line for every coefficient
        ("""lower_slope, upper_slope, upper_offset = relu_relaxation(l, u)
return A * lower_slope, A.clamp(max=0) @ upper_offset""", "use the upper line"),
        # the two lines swapped
        ("""lower_slope, upper_slope, upper_offset = relu_relaxation(l, u)
pos, neg = A.clamp(min=0), A.clamp(max=0)
return pos * upper_slope + neg * lower_slope, pos @ upper_offset""", "swapped"),
        # the offset taken with every coefficient
        ("""lower_slope, upper_slope, upper_offset = relu_relaxation(l, u)
pos, neg = A.clamp(min=0), A.clamp(max=0)
return pos * lower_slope + neg * upper_slope, A @ upper_offset""", "negative part of A"),
    ],
    "9.3": [
        ("""answer = "interval\"""", "do not prove"),
        ("""answer = "neither\"""", "CROWN proves"),
    ],
    "9.4": [
        ("""answer = "a\"""", "only tried some points"),
        ("""answer = "c\"""", "upper bound, not a lower one"),
        ("""answer = "d\"""", "replayed"),
    ],
}
