"""Wrong answers for the exercises of notebook 07 (the LP relaxation)."""

WRONG = {
    "7.1": [
        # z >= 0 forgotten
        ("""return [z >= z_hat, z <= cp.multiply(u / (u - l), z_hat - l)]""", "above z = 0"),
        # z >= z_hat forgotten
        ("""return [z >= 0, z <= cp.multiply(u / (u - l), z_hat - l)]""", "above the line z = ẑ"),
        # a box instead of the chord
        ("""return [z >= 0, z >= z_hat, z <= u]""", "above the chord"),
        # the chord drawn through the origin
        ("""return [z >= 0, z >= z_hat, z <= cp.multiply(u / (u - l), z_hat)]""", "allow no z at all"),
    ],
    "7.2": [
        # the LP as good as the MILP
        ("""answer = 9""", "only a lower bound"),
        # the LP hopeless
        ("""answer = 0""", "not hopeless"),
        # not a count
        ("""answer = "robust\"""", "whole number"),
    ],
    "7.3": [
        ("""answer = "a\"""", "solved to optimality"),
        ("""answer = "c\"""", "proved all nine"),
        ("""answer = "d\"""", "keeps every neuron"),
    ],
}
