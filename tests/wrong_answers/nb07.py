"""Wrong answers for the exercises of notebook 07 (the LP relaxation)."""

WRONG = {
    "7.1": [
        # the larger side kept
        ("""sides = [cp.Problem(problem.objective, problem.constraints + [v[k][j] == phase]) for phase in (0, 1)]
return max(side.solve(solver=cp.HIGHS) for side in sides)""", "the larger side"),
        # the constraint appended to a copy: the plain LP is solved again
        ("""problem.constraints.append(v[k][j] == 0)
return problem.solve(solver=cp.HIGHS)""", "never reached the solver"),
        # one side only (the neuron switched off)
        ("""side = cp.Problem(problem.objective, problem.constraints + [v[k][j] == 0])
return side.solve(solver=cp.HIGHS)""", "one side only"),
        # one side only (the neuron switched on)
        ("""side = cp.Problem(problem.objective, problem.constraints + [v[k][j] == 1])
return side.solve(solver=cp.HIGHS)""", "one side only"),
        # the problem returned instead of its value
        ("""return cp.Problem(problem.objective, problem.constraints + [v[k][j] == 0])""", "should be a number"),
    ],
    "7.2": [
        # the LP as good as the MILP
        ("""answer = 9""", "only a lower bound"),
        # the LP hopeless... one target off is accepted, so a wrong count is two away
        ("""answer = 4""", "only a lower bound"),
        # not a count
        ("""answer = "robust\"""", "whole number"),
    ],
    "7.3": [
        ('answer = "b"', "fake point"),
        ('answer = "c"', "says nothing about the MILP's sign"),
        ('answer = "d"', "no triangle is tight"),
    ],
    "7.4": [
        # the interval bounds' numbers
        ("""answer = {"unstable": 42, "proven": 1}""", "interval bounds leave"),
        # the unstable neurons of one layer only
        ("""box = tuple(t.double() for t in linf_box(x, 0.05))
lo, up = tighten_bounds(small, box)[0]
answer = {"unstable": int(relu_phases(lo, up)[2].sum()), "proven": 7}""", "both hidden layers"),
        # the tightened bounds computed but never given to the LP
        ("""box = tuple(t.double() for t in linf_box(x, 0.05))
tight = tighten_bounds(small, box)
proven = sum(programs.form_lp(small, np.eye(10)[label] - np.eye(10)[t], box, bound_propagation(small, box))[0]
             .solve(solver=cp.HIGHS) > 0 for t in targets)
answer = {"unstable": sum(int(relu_phases(lo, up)[2].sum()) for lo, up in tight), "proven": int(proven)}""",
         "bounds[1] and bounds[3]"),
        # not the dict asked for
        ("""answer = 7""", "answer with a dict"),
    ],
}
