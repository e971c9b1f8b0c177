"""Companion package of the course "Adversarial examples, solving the inner maximization".

The modules follow the chapter (Kolter & Madry, *Adversarial Robustness: Theory and
Practice*, chapter 3):

``config``    where things live (shipped assets, MNIST folders), evaluation subset size, device
``data``      MNIST from IDX files (offline first, else downloaded once and MD5-checked)
``models``    the chapter's model zoo and the loss-surface regression net
``train``     ``epoch`` and the chapter's training recipes
``surface``   the irregular 1-D function of a ReLU net (notebook 01)
``threat``    the threat model shared by attacks and verifiers: ε-ball ∩ [0, 1]
``attacks``   ONE projected steepest-ascent loop, its three helpers, the named attacks
              (FGSM, PGD, ...) as recipes over it, restarts as a wrapper
``evaluate``  error rates under attack

The verification half has the same shape: rules written once, one lowered network, and
named steps over one problem.

``relu``      the ReLU's rules: stable or not, CROWN's lines, big-M rows, the hull cut
``layers``    the table of per-layer rules (Flatten, Linear, Conv2d, ReLU): interval
              rule, lowering, CROWN's forward/backward products; one unsupported-layer error
``guard``     ``check_network``: the one check of what the verifiers accept (a call that is
              its layers, float32/float64 weights), and what their verdicts are about
``network``   ``lower(model, input_shape)``: the network as affine layers, built once
``bounds``    interval propagation (the chapter's) and CROWN-style linear bounds
              (a convolution's bound rows go back as windows over their receptive fields)
``alpha``     optimised-slope CROWN ("alpha-CROWN"): each bound's ReLU slopes by projected Adam
``verdicts``  the one vocabulary: verdicts (robust/attacked/unknown) and step names
``solvers``   which solvers may certify, time limits, interruptible HiGHS runs
``programs``  the big-M program: the chapter's cvxpy writer and the HiGHS writer, cuts
              from each ReLU's hull, the thin HiGHS wrapper
``splits``    branch and bound over ReLU phases on the LP relaxation: the MILP step's first try
``workers``   ``worker_pool``: worker processes that an interrupt stops cleanly
``verify``    one image: ``Problem``, the named steps, ``decide``, ``certify``
``certified`` certified accuracy over many images (beyond the chapter)
``records``   the chapter's published figures and the recorded runs (shipped in ``assets/``)
``checks``    the notebooks' checks of their own text (``check_close``, ``check_same``, ...)
``exercises`` the exercises' graders, one module per notebook
``style``     one colour, marker and name per method and verdict, for every figure
``plotting``  figures for the notebooks (digits, curves, bounds, the adversarial polytope)
``polytope``  a 2-D toy network, the image of an ε-ball and its convex outer bounds
``widgets``   sliders for the notebooks (``widget_core``: the machinery; ``verify_widgets``:
              notebooks 06-09; ``widget_tables``: their precomputed numbers in ``assets/tables``)
``cli``       the command line, ``python -m course_utils data|train|evaluate|certified``
              (``__main__`` hands it the arguments)
"""

__version__ = "0.1.0"
