"""Wrong answers for the exercises of notebook 06 (exact verification by MILP)."""

WRONG = {
    "6.1": [
        # the ReLU's rows, unchanged
        ("""return [z >= z_hat, z >= 0, cp.multiply(u, v) >= z, z_hat >= z + cp.multiply(1 - v, l)]""",
         "not 0"),
        # the lower rows of the leaky ReLU, the upper rows of the ReLU
        ("""return [z >= z_hat, z >= alpha * z_hat, z <= cp.multiply(u, v), z <= z_hat - cp.multiply(l, 1 - v)]""",
         "v = 0 must force the leaky piece"),
        # z >= alpha * z_hat forgotten
        ("""return [z >= z_hat, z <= alpha * z_hat + (1 - alpha) * cp.multiply(u, v),
        z <= z_hat - (1 - alpha) * cp.multiply(l, 1 - v)]""", "never below either piece"),
        # v and 1 - v swapped in the last row
        ("""return [z >= z_hat, z >= alpha * z_hat, z <= alpha * z_hat + (1 - alpha) * cp.multiply(u, v),
        z <= z_hat - (1 - alpha) * cp.multiply(l, v)]""", "check each row with v = 0 and with v = 1"),
        # the slope written in, not read from the argument
        ("""return [z >= z_hat, z >= 0.1 * z_hat, z <= 0.1 * z_hat + 0.9 * cp.multiply(u, v),
        z <= z_hat - 0.9 * cp.multiply(l, 1 - v)]""", "with α = 0.3"),
        # numpy booleans instead of constraints
        ("""return [np.asarray(0.0) >= np.asarray(1.0)]""", "list of cvxpy constraints"),
    ],
    "6.2": [
        ("""answer = 1.0""", "the minimum does not drop"),
        ("""answer = 4 * 5.40""", "does not rise either"),
        ("""answer = "the same\"""", "must be a number"),
    ],
    "6.3": [
        ("""answer = "a\"""", "the networks are not"),
        ("""answer = "b\"""", "every target's minimum positive"),
        ("""answer = "d\"""", "does not exist"),
    ],
    "6.4": [
        ("""answer = (57, 5.399)""", "search on the tight bounds"),            # factor 1 left in
        ("""answer = (156, 5.399)""", "number of nodes split"),                # the nodes split, not the LPs
        ("""answer = (313, 4.3)""", "tree[best][2]"),                          # a bound, not the minimum
        ("""answer = (5.399, 313)""", "swapped"),
        ("""answer = 313""", "a pair"),
    ],
    "6.5": [
        ("""answer = "a\"""", "stable neurons are different things"),
        ("""answer = "c\"""", "size of the box does not matter"),
        ("""answer = "d\"""", "layer 2's interval bounds are not exact"),
    ],
}
