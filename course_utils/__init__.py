"""Companion package of the course "Adversarial examples, solving the inner maximization".

The modules follow the chapter (Kolter & Madry, *Adversarial Robustness: Theory and
Practice*, chapter 3):

``config``    where things live, evaluation subset size, device
``data``      MNIST from IDX files (offline first)
``models``    the chapter's model zoo and the loss-surface regression net
``train``     ``epoch`` and the chapter's training recipes
``attacks``   projected steepest ascent and the named attacks (FGSM, PGD, ...)
``evaluate``  error rates under attack
``bounds``    interval and linear bound propagation
``verify``    MILP / LP formulations and certification
``plotting``, ``widgets``  figures and sliders for the notebooks
"""

__version__ = "0.1.0"
