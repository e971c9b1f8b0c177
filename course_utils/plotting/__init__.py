"""Figures for the notebooks (matplotlib). Every function returns the ``Figure`` it draws,
takes its colours from ``course_utils.style`` and draws digits with ``draw_digit``.

``digits``    digits and perturbations: grids, witnesses, verdicts, δ heat maps
``curves``    the 1-D loss surface, steepest ascent in 2-D, error vs ε, error vs steps, loss vs iteration
``histograms`` the spread of gradient scales on a log axis
``bounds``    an image's margins, ReLU relaxations, bounds per target / per layer / against ε,
              the LP's fake point
``polytope``  the adversarial polytope of a 2-D toy network
``bars``      the outcomes of an attack, setting by setting (stacked bars)
``search``    the tree of a branch and bound over ReLU phases
"""

from .bars import plot_outcomes
from .bounds import (plot_bigm_slices, plot_bound_comparison, plot_bound_sandwich, plot_bound_widths,
                     plot_certified_curves, plot_crown_relaxation, plot_logit_bounds, plot_lp_fake_point,
                     plot_margins, plot_relu_relaxation)
from .curves import (plot_error_vs_epsilon, plot_error_vs_steps, plot_function_1d, plot_inner_max_1d,
                     plot_loss_curves, plot_steepest_ascent_2d)
from .digits import (draw_delta, draw_digit, out_of_range, plot_delta_heatmaps, plot_images, plot_verdict_grid,
                     plot_witness)
from .histograms import plot_gradient_scales
from .polytope import plot_adversarial_polytope
from .search import plot_search_tree

__all__ = [
    "draw_delta", "draw_digit", "out_of_range", "plot_adversarial_polytope", "plot_bigm_slices",
    "plot_bound_comparison", "plot_bound_sandwich", "plot_bound_widths", "plot_certified_curves",
    "plot_crown_relaxation", "plot_delta_heatmaps", "plot_error_vs_epsilon", "plot_error_vs_steps",
    "plot_function_1d", "plot_gradient_scales", "plot_images", "plot_inner_max_1d", "plot_logit_bounds",
    "plot_loss_curves", "plot_lp_fake_point", "plot_margins", "plot_outcomes", "plot_relu_relaxation",
    "plot_search_tree", "plot_steepest_ascent_2d", "plot_verdict_grid", "plot_witness",
]
