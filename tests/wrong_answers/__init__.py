"""Plausible wrong answers for the exercises of each notebook (``nbNN.py``: ``WRONG``).

``WRONG = {"N.M": [(text, hint), ...]}``: ``text`` replaces the exercise cell's
``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block (written without its indentation), and
``hint`` is a piece of the message the check must print for it. ``tests/test_exercises.py``
runs them all.
"""
