"""Wrong answers for the exercises of notebook 08 (interval bounds, the analytic last layer)."""

WRONG = {
    "8.1": [
        # W applied to l and u as if it were positive
        ("""return l @ W.t() + b, u @ W.t() + b""", "Split W"),
        # the positive and negative parts swapped
        ("""W_pos, W_neg = W.clamp(min=0), W.clamp(max=0)
return u @ W_pos.t() + l @ W_neg.t() + b, l @ W_pos.t() + u @ W_neg.t() + b""", "swapped"),
        # the bias forgotten
        ("""W_pos, W_neg = W.clamp(min=0), W.clamp(max=0)
return l @ W_pos.t() + u @ W_neg.t(), u @ W_pos.t() + l @ W_neg.t()""", "add the bias"),
        # only one bound returned
        ("""W_pos, W_neg = W.clamp(min=0), W.clamp(max=0)
return l @ W_pos.t() + u @ W_neg.t() + b""", "return both bounds"),
    ],
    "8.2": [
        # the upper bound on the margin
        ("""l, u = bounds[-1]
return (u.gather(1, y[:, None]) - l).scatter(1, y[:, None], 0.0)""", "UPPER bound"),
        # both lower bounds
        ("""l, u = bounds[-1]
return (l.gather(1, y[:, None]) - l).scatter(1, y[:, None], 0.0)""", "can be as large as u_t"),
        # column y left at l_y - u_y
        ("""l, u = bounds[-1]
return l.gather(1, y[:, None]) - u""", "put 0 in column y"),
    ],
    "8.3": [
        ("""answer = "a\"""", "rounding errors"),
        ("""answer = "c\"""", "never widens"),
        ("""answer = "d\"""", "does not depend on ε"),
    ],
}
