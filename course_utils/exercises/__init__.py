"""Exercises with checks that answer right away (every notebook ends with some).

In a notebook, a learner writes a function or a value in an exercise cell and runs the
check under it::

    from course_utils.exercises import check
    check("2.1", fgsm_l2)

The check prints one line: ``✓ Exercise 2.1 (FGSM under ℓ2): ...`` when the answer is
right, or ``✗ Exercise 2.1 ...: not yet -- <what is wrong>. Hint: <what to try>`` when it is
not -- never a bare traceback, even when the learner's code raises. The checks compare a
learner's answer with the package's own implementation on real data (MNIST, the shipped
models), so an answer that passes is the chapter's algorithm.

The exercises of notebook NN live in ``course_utils/exercises/nbNN.py`` as a table
``EXERCISES = {id: Exercise(...)}``; :mod:`course_utils.exercises.core` holds the
machinery (``NotYet``, the argument helpers, ``call``), and
:mod:`course_utils.exercises.guard` what runs around the learner's code: private copies
of its inputs, the time limit, no exit. A grader calls the learner's function with
``call(fn, ...)`` and may compute its reference before or after: the learner never sees the
grader's objects. The reference solutions live in the notebook sources between
``# BEGIN SOLUTION`` and ``# END SOLUTION``; ``make student`` writes the notebooks without
them (``tools/notebooks.py student``), and ``tests/test_exercises.py`` runs every check on
its solution, on the blank starter, on wrong answers and on answers that misbehave (raise,
exit, loop, change their inputs).
"""

from .core import KINDS, Exercise, NotYet, Outcome, all_exercises, check, evaluate, solution

__all__ = ["KINDS", "Exercise", "NotYet", "Outcome", "all_exercises", "check", "evaluate", "solution"]
