"""Wrong answers for the exercises of notebook 06 (exact verification by MILP)."""

WRONG = {
    "6.1": [
        # z >= 0 forgotten
        ("""return [z >= z_hat, cp.multiply(u, v) >= z, z_hat >= z + cp.multiply(1 - v, l)]""", "never negative"),
        # z >= z_hat forgotten
        ("""return [z >= 0, cp.multiply(u, v) >= z, z_hat >= z + cp.multiply(1 - v, l)]""", "never below its input"),
        # the row that switches the neuron off forgotten
        ("""return [z >= z_hat, z >= 0, z_hat >= z + cp.multiply(1 - v, l)]""", "switch the neuron off"),
        # l and u swapped in the last two rows
        ("""return [z >= z_hat, z >= 0, cp.multiply(l, v) >= z, z_hat >= z + cp.multiply(1 - v, u)]""",
         "check each row with v = 0 and with v = 1"),
        # v and 1 - v swapped in the last row
        ("""return [z >= z_hat, z >= 0, cp.multiply(u, v) >= z, z_hat >= z + cp.multiply(v, l)]""",
         "check each row with v = 0 and with v = 1"),
        # numpy booleans instead of constraints
        ("""return [np.asarray(0.0) >= np.asarray(1.0)]""", "list of cvxpy constraints"),
    ],
    "6.2": [
        # strict inequalities: a neuron with u = 0 is always off, one with l = 0 always on
        ("""off, on = u < 0, l > 0
return off, on, ~(off | on)""", "UPPER bound is at most 0"),
        # off decided by the lower bound
        ("""off, on = l <= 0, l >= 0
return off, on, ~(off | on)""", "UPPER bound is at most 0"),
        # on decided by the upper bound
        ("""off, on = u <= 0, u >= 0
return off, on, ~(off | on)""", "LOWER bound is at least 0"),
        # unstable as l < 0 only
        ("""off, on = u <= 0, l >= 0
return off, on, l < 0""", "neither: l < 0 < u"),
    ],
    "6.3": [
        ("""answer = "a\"""", "a third logit"),
        ("""answer = "c\"""", "not the cross-entropy"),
        ("""answer = "d\"""", "CAN beat"),
    ],
}
