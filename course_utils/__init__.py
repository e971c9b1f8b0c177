"""Companion package of the course "Adversarial examples, solving the inner maximization".

The modules follow the chapter (Kolter & Madry, *Adversarial Robustness: Theory and
Practice*, chapter 3):

``config``    where things live (shipped assets, MNIST folders), evaluation subset size, device
``data``      MNIST from IDX files (offline first, else downloaded once and MD5-checked)
``models``    the chapter's model zoo and the loss-surface regression net
``train``     ``epoch`` and the chapter's training recipes
``surface``   the irregular 1-D function of a ReLU net (notebook 01)
``threat``    the threat model shared by attacks and verifiers: ε-ball ∩ [0, 1]
``attacks``   projected steepest ascent and the named attacks (FGSM, PGD, ...)
``evaluate``  error rates under attack
``bounds``    interval and linear (CROWN-style) bound propagation
``solvers``   solver choice and status handling (HiGHS by default)
``verify``    MILP / LP formulations and certification
``certified`` certified accuracy over many images (beyond the chapter)
``records``   the chapter's published figures and the recorded runs (shipped in ``assets/``)
``style``     one colour, marker and name per method and verdict, for every figure
``plotting``  figures for the notebooks (digits, curves, bounds, the adversarial polytope)
``polytope``  a 2-D toy network, the image of an ε-ball and its convex outer bounds
``widgets``   sliders for the notebooks (``widget_core``: the machinery; ``verify_widgets``:
              notebooks 06-09; ``widget_tables``: their precomputed numbers in ``assets/tables``)
``cli``       the command line, ``python -m course_utils data|train|evaluate|certified``
"""

__version__ = "0.1.0"
