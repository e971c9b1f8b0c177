"""Every bad argument of the verification half gets a clear error naming it and what is
allowed (issue 15 §4; tests/test_bad_input.py does the attack half).

The public functions and the arguments whose invalid values are tested below (``-``
marks an argument with nothing to refuse):

layers     rule_for(layer, position -)
guard      check_network(model, name -) (tests/test_model_guard.py has every reason it refuses)
network    lower(model, input_shape, dtype, device) · LoweredNetwork.position(module_index)
           .hidden_bounds(bounds -, box) · .pre_activations(x)
bounds     check_box(initial_bound) · bound_propagation(model, initial_bound) · objective_matrix(y, num_classes)
           interval_based_bound(model, c, bounds) · linear_bounds(model, initial_bound, c, memory_mb)
           crown_bounds(net, initial_bound, c, memory_mb)
           unsupported layers and layer options: named with their position (test_bounds.py has more)
verify     verification_problem(model, x, y, epsilon, targets, net) · certify(model, x, y, epsilon, step,
           targets, **options: time_limit, solver, steps, workers, cut_rounds, stop_at_attack, rounds)
           decide(p, steps, ...) and the named steps targeted_pgd / interval / crown / lp / lp_cuts /
           milp / exact_milp (p, targets, their options) · pgd_targets(model, x, y, targets, epsilon,
           num_iter, restarts, seed) · tighten_bounds(model, initial_bound, lp, time_limit, max_lp_neurons)
           lp_cut_rounds(model, x, y, target, epsilon, rounds)
certified  certified_accuracy(model, data, epsilons, methods, limit, pgd_steps, time_limit, workers,
           progress) · bound_sandwich(model, x, y, target, epsilons, time_limit)
           interval_certified / crown_certified(model or net, X, y, epsilon, chunk)
           CertifiedResult.from_dict(d) · .certified(method) · accuracy_curves(results)
solvers    check_solver(solver, integer -) · check_time_limit(time_limit) · time_limit_options(solver, time_limit)
           new_highs(options) · fix_highs_threads(threads)
programs   build_program(layers -, box, pre_bounds) · HighsProgram.set_logit_objective(c) · .start_from(x)
           .solve(time_limit) · solve_with_cuts(program, rounds, time_limit) · hull_cuts(program -, values)
           form_milp / form_lp(model, c, initial_bound, bounds, stable_binaries)
workers    worker_pool(workers, initializer)
records    load_certified(model_name)
cli        python -m course_utils certified --model/--eps/--n/--methods/--time-limit/--workers
widgets    logit_bounds_widget / bound_comparison_widget / certified_widget (models, X, y, epsilon,
           index, model, methods, time_limit, live, n_images, eps_max, method, M, N)

Errors are ``ValueError`` for arguments (``NotImplementedError`` for a layer the rules
do not cover, ``TypeError`` for an option a step does not take, as Python says it).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from course_utils import bounds as B
from course_utils import certified as CE
from course_utils import cli, guard as G, layers as L, network as N, programs as P, records as R, solvers as S
from course_utils import verify as V, workers as W

torch.manual_seed(0)
NET = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 5)).eval()
OTHER = nn.Sequential(nn.Flatten(), nn.Linear(25, 3))
X = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
x = X[:1]
Y = torch.tensor([0, 4, 2])
BOX = (X - 0.1, X + 0.1)
ONE = (x - 0.1, x + 0.1)
NAN_X = x.clone().fill_(math.nan)


def program(relax=False):
    net = N.lower(NET, (1, 4, 4))
    return P.HighsProgram(P.build_program(net.matrices(), (np.zeros(16), np.ones(16)),
                                          [(-np.ones(8), np.ones(8))], relax=relax))


def problem():
    return V.verification_problem(NET, x, 0, 0.1)


def case(id_, call, match, error=ValueError):
    return pytest.param(call, error, match, id=id_)


# --- layers, network, bounds ------------------------------------------------------------------

NETWORK_CASES = [
    case("rule_for-string", lambda: L.rule_for("relu", 3), r"layer 3 \(str", NotImplementedError),
    case("check_network-module", lambda: G.check_network(nn.Linear(16, 5)), r"^model must be an nn.Sequential"),
    case("lower-model-string", lambda: N.lower("small", (1, 4, 4)), r"^model must be an nn.Sequential"),
    case("lower-model-list", lambda: N.lower([nn.Linear(16, 5)], (16,)), r"^model must be an nn.Sequential"),
    case("lower-shape-string", lambda: N.lower(NET, "1,4,4"), r"^input_shape must be .* whole numbers >= 1"),
    case("lower-shape-negative", lambda: N.lower(NET, (1, -4, 4)), r"^input_shape must"),
    case("lower-shape-float", lambda: N.lower(NET, (1, 4.0, 4)), r"^input_shape must"),
    case("lower-shape-empty", lambda: N.lower(NET, ()), r"^input_shape must"),
    case("lower-shape-wrong", lambda: N.lower(NET, (1, 5, 5)), r"layer 1 \(Linear\) expects 16 inputs, gets shape \(25,\)"),
    case("lower-dtype-string", lambda: N.lower(NET, (1, 4, 4), dtype="float64"), r"^dtype must be a floating torch dtype"),
    case("lower-dtype-int", lambda: N.lower(NET, (1, 4, 4), dtype=torch.int64), r"^dtype must be a floating"),
    case("lower-device-name", lambda: N.lower(NET, (1, 4, 4), device="gpu"), r"^lower\(device=...\) must name a device"),
    case("lower-empty", lambda: N.lower(nn.Sequential(), (1, 4, 4)), r"must end with a Linear", NotImplementedError),
    case("lower-leakyrelu", lambda: N.lower(nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.LeakyReLU(),
                                                          nn.Linear(4, 2)), (1, 4, 4)),
         r"layer 2 \(LeakyReLU.*supports? Flatten, Linear, Conv2d, ReLU", NotImplementedError),
    case("lower-dropout", lambda: N.lower(nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.ReLU(), nn.Dropout(),
                                                        nn.Linear(4, 2)), (1, 4, 4)), r"layer 3 \(Dropout",
         NotImplementedError),
    case("lower-batchnorm", lambda: N.lower(nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.BatchNorm1d(4),
                                                          nn.ReLU(), nn.Linear(4, 2)), (1, 4, 4)),
         r"layer 2 \(BatchNorm1d", NotImplementedError),
    case("lower-nested", lambda: N.lower(nn.Sequential(nn.Sequential(nn.Flatten(), nn.Linear(16, 4)), nn.ReLU(),
                                                       nn.Linear(4, 2)), (1, 4, 4)), r"layer 0 \(Sequential",
         NotImplementedError),
    case("lower-conv1d", lambda: N.lower(nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)),
                                         (1, 6)), r"layer 0 \(Conv1d", NotImplementedError),
    case("lower-flatten-end_dim", lambda: N.lower(nn.Sequential(nn.Flatten(1, 2), nn.Linear(16, 2)), (1, 4, 4)),
         r"layer 0 \(Flatten\): only start_dim=1, end_dim=-1", NotImplementedError),
    case("lower-conv-reflect", lambda: N.lower(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"),
                                                             nn.ReLU(), nn.Flatten(), nn.Linear(32, 2)), (1, 4, 4)),
         r"layer 0 \(Conv2d\): padding_mode='reflect'", NotImplementedError),
    case("lower-conv-valid", lambda: N.lower(nn.Sequential(nn.Conv2d(1, 2, 3, padding="valid"), nn.ReLU(),
                                                           nn.Flatten(), nn.Linear(8, 2)), (1, 4, 4)),
         r"layer 0 \(Conv2d\): padding='valid'", NotImplementedError),
    case("lower-conv-channels", lambda: N.lower(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(),
                                                              nn.Linear(8, 2)), (1, 4, 4)),
         r"layer 0 \(Conv2d\) expects \(3, H, W\) inputs"),
    case("hidden_bounds-box", lambda: N.lower(NET, (1, 4, 4)).hidden_bounds(B.bound_propagation(NET, ONE), box=9),
         r"^box must be the index of a box of the batch, an integer in 0 \.\. 0"),
    case("pre_activations-x", lambda: N.lower(NET, (1, 4, 4)).pre_activations(np.zeros(5)),
         r"^x must be one flattened input of 16 numbers"),
    case("position-not-affine", lambda: N.lower(NET, (1, 4, 4)).position(2), r"module 2 .* not a Linear or Conv2d"),
]

BOUNDS_CASES = [
    case("check_box-not-pair", lambda: B.check_box(X), r"^initial_bound must be a pair"),
    case("check_box-lists", lambda: B.check_box(([0.0], [1.0])), r"^initial_bound must be a pair \(l, u\) of torch"),
    case("check_box-int", lambda: B.check_box((X.long(), X.long())), r"^initial_bound must hold floating-point"),
    case("check_box-empty", lambda: B.check_box((X[:0], X[:0])), r"^initial_bound must be a batch of boxes"),
    case("check_box-rank1", lambda: B.check_box((X.flatten(), X.flatten())), r"^initial_bound must be a batch"),
    case("check_box-nan", lambda: B.check_box((NAN_X, x)), r"^initial_bound must be finite"),
    case("check_box-empty-box", lambda: B.check_box((X + 0.1, X)), r"^initial_bound is empty: l > u"),
    case("bound_propagation-model", lambda: B.bound_propagation("small", BOX), r"^model must be an nn.Sequential"),
    case("bound_propagation-module", lambda: B.bound_propagation(nn.Linear(16, 5), BOX), r"^model must be an nn.Seq"),
    case("bound_propagation-shape", lambda: B.bound_propagation(NET, (torch.zeros(3, 1, 5, 5), torch.ones(3, 1, 5, 5))),
         r"^initial_bound of shape \(3, 1, 5, 5\) does not fit the model: layer 1 \(Linear\)"),
    case("bound_propagation-tanh", lambda: B.bound_propagation(nn.Sequential(nn.Flatten(), nn.Tanh()), BOX),
         r"layer 1 \(Tanh", NotImplementedError),
    case("objective_matrix-y-float", lambda: B.objective_matrix(3.7, 5), r"^y must be a class index, an integer in 0 \.\. 4"),
    case("objective_matrix-y-big", lambda: B.objective_matrix(7, 5), r"^y must be a class index"),
    case("objective_matrix-y-negative", lambda: B.objective_matrix(-1, 5), r"^y must be a class index"),
    case("objective_matrix-y-string", lambda: B.objective_matrix("3", 5), r"^y must be a class index"),
    case("objective_matrix-n-zero", lambda: B.objective_matrix(0, 0), r"^num_classes must be an integer >= 1"),
    case("objective_matrix-n-float", lambda: B.objective_matrix(0, 2.5), r"^num_classes must be an integer"),
    case("interval_based_bound-model", lambda: B.interval_based_bound("m", B.objective_matrix(0, 5), []),
         r"^model must be an nn.Sequential"),
    case("interval_based_bound-c-string", lambda: B.interval_based_bound(NET, "c", B.bound_propagation(NET, BOX)),
         r"^c must be a real torch.Tensor"),
    case("interval_based_bound-c-nan", lambda: B.interval_based_bound(NET, B.objective_matrix(0, 5) * math.nan,
                                                                      B.bound_propagation(NET, BOX)), r"^c must be finite"),
    case("interval_based_bound-c-shape", lambda: B.interval_based_bound(NET, torch.ones(4, 2),
                                                                        B.bound_propagation(NET, BOX)), r"^c must have shape"),
    case("interval_based_bound-bounds", lambda: B.interval_based_bound(NET, B.objective_matrix(0, 5),
                                                                       B.bound_propagation(NET, BOX)[:2]),
         r"^bounds must have one \(l, u\) per layer \(4\), got 2"),
    case("linear_bounds-c-shape", lambda: B.linear_bounds(NET, BOX, torch.ones(4, 2)), r"^c must have shape"),
    case("linear_bounds-c-list", lambda: B.linear_bounds(NET, BOX, [[1.0]]), r"^c must be a real torch.Tensor"),
    case("linear_bounds-c-bool", lambda: B.linear_bounds(NET, BOX, torch.ones(5, 2, dtype=torch.bool)),
         r"^c must be a real torch.Tensor"),
    case("linear_bounds-memory-negative", lambda: B.linear_bounds(NET, BOX, memory_mb=-1), r"^memory_mb must be .* > 0"),
    case("linear_bounds-memory-string", lambda: B.linear_bounds(NET, BOX, memory_mb="a"), r"^memory_mb must"),
    case("linear_bounds-memory-nan", lambda: B.linear_bounds(NET, BOX, memory_mb=math.nan), r"^memory_mb must"),
    case("linear_bounds-empty", lambda: B.linear_bounds(NET, (X[:0], X[:0])), r"^initial_bound must be a batch"),
    case("linear_bounds-shape", lambda: B.linear_bounds(NET, (torch.zeros(3, 1, 5, 5), torch.ones(3, 1, 5, 5))),
         r"layer 1 \(Linear\) expects 16 inputs"),
    case("crown_bounds-net", lambda: B.crown_bounds(NET, BOX), r"^net must be a LoweredNetwork"),
    case("crown_bounds-shape", lambda: B.crown_bounds(N.lower(NET, (1, 4, 4)), (torch.zeros(3, 1, 5, 5),
                                                                                torch.ones(3, 1, 5, 5))),
         r"^initial_bound of shape \(3, 1, 5, 5\) does not fit the network: it takes inputs of shape \(1, 4, 4\)"),
]


# --- verify ---------------------------------------------------------------------------------

def certify(**override):
    args = dict(model=NET, x=x, y=0, epsilon=0.1, step="interval") | override
    return V.certify(args.pop("model"), args.pop("x"), args.pop("y"), args.pop("epsilon"), args.pop("step"), **args)


VERIFY_CASES = [
    case("problem-model-string", lambda: V.verification_problem("small", x, 0, 0.1), r"^model must be an nn.Sequential"),
    case("problem-model-tanh", lambda: V.verification_problem(nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(),
                                                                            nn.Linear(4, 5)), x, 0, 0.1),
         r"layer 2 \(Tanh", NotImplementedError),
    case("problem-x-list", lambda: V.verification_problem(NET, [[0.5]], 0, 0.1), r"^x must be a floating-point"),
    case("problem-x-int", lambda: V.verification_problem(NET, x.long(), 0, 0.1), r"^x must be a floating-point"),
    case("problem-x-empty", lambda: V.verification_problem(NET, X[:0], 0, 0.1), r"^x must be a batch of at least one"),
    case("problem-x-rank1", lambda: V.verification_problem(NET, x.flatten(), 0, 0.1), r"^x must be a batch"),
    case("problem-x-batch", lambda: V.verification_problem(NET, X, 0, 0.1), r"^x must be one image with a batch dimension of 1"),
    case("problem-x-nan", lambda: V.verification_problem(NET, NAN_X, 0, 0.1), r"^x must hold finite pixels"),
    case("problem-x-above-1", lambda: V.verification_problem(NET, x + 1, 0, 0.1), r"^x must hold pixels in \[0, 1\]"),
    case("problem-x-shape", lambda: V.verification_problem(NET, torch.rand(1, 1, 5, 5), 0, 0.1),
         r"layer 1 \(Linear\) expects 16 inputs, gets shape \(25,\)"),
    case("problem-y-float", lambda: V.verification_problem(NET, x, 3.7, 0.1), r"^y must be an integer class label in 0\.\.4"),
    case("problem-y-float-whole", lambda: V.verification_problem(NET, x, 3.0, 0.1), r"^y must be an integer class label"),
    case("problem-y-string", lambda: V.verification_problem(NET, x, "3", 0.1), r"^y must be an integer class label"),
    case("problem-y-big", lambda: V.verification_problem(NET, x, 5, 0.1), r"^y must be an integer class label in 0\.\.4"),
    case("problem-y-tensor-float", lambda: V.verification_problem(NET, x, torch.tensor(1.5), 0.1), r"^y must be an integer"),
    case("problem-y-tensor-two", lambda: V.verification_problem(NET, x, torch.tensor([1, 2]), 0.1), r"^y must be an integer"),
    case("problem-epsilon-negative", lambda: V.verification_problem(NET, x, 0, -0.1), r"^epsilon must be a finite number >= 0"),
    case("problem-epsilon-nan", lambda: V.verification_problem(NET, x, 0, math.nan), r"^epsilon must be a finite number"),
    case("problem-epsilon-string", lambda: V.verification_problem(NET, x, 0, "0.1"), r"^epsilon must be a finite number"),
    case("problem-targets-int", lambda: V.verification_problem(NET, x, 0, 0.1, targets=3), r"^targets must be a list of class labels"),
    case("problem-targets-string", lambda: V.verification_problem(NET, x, 0, 0.1, targets="12"), r"^targets must be a list"),
    case("problem-targets-big", lambda: V.verification_problem(NET, x, 0, 0.1, targets=[9]), r"^targets must be an integer class label"),
    case("problem-targets-float", lambda: V.verification_problem(NET, x, 0, 0.1, targets=[1.5]), r"^targets must be an integer"),
    case("problem-targets-y", lambda: V.verification_problem(NET, x, 0, 0.1, targets=[0, 1]), r"^targets must be distinct .* other than y=0"),
    case("problem-targets-empty", lambda: V.verification_problem(NET, x, 0, 0.1, targets=[]), r"^targets must be distinct"),
    case("problem-targets-repeated", lambda: V.verification_problem(NET, x, 0, 0.1, targets=[1, 1]), r"^targets must be distinct"),
    case("problem-net-string", lambda: V.verification_problem(NET, x, 0, 0.1, net="net"), r"^net must be network.lower"),
    case("problem-net-other-model", lambda: V.verification_problem(NET, x, 0, 0.1, net=N.lower(OTHER, (1, 5, 5))),
         r"^net must be this model lowered for inputs of shape \(1, 4, 4\)"),
    case("certify-step-unknown", lambda: certify(step="exact"), r"^step must be one of \('targeted pgd', 'interval'"),
    case("certify-step-none", lambda: certify(step=None), r"^step must be one of"),
    case("certify-step-number", lambda: certify(step=3), r"^step must be one of"),
    case("certify-option-unknown", lambda: certify(step="decide", bogus=1), r"unexpected keyword argument 'bogus'", TypeError),
    case("certify-option-of-another-step", lambda: certify(cut_rounds=2), r"cut_rounds", TypeError),
    case("certify-time_limit-zero", lambda: certify(step="lp", time_limit=0), r"^time_limit must be a number of seconds > 0, or None"),
    case("certify-time_limit-negative", lambda: certify(step="milp", time_limit=-1), r"^time_limit must be a number"),
    case("certify-time_limit-string", lambda: certify(step="exact milp", time_limit="5"), r"^time_limit must be a number"),
    case("certify-time_limit-nan", lambda: certify(step="decide", time_limit=math.nan), r"^time_limit must be a number"),
    case("certify-solver-unknown", lambda: certify(step="lp", solver="NO_SUCH"), r"^solver 'NO_SUCH' is not installed; .* may certify: .*HIGHS"),
    case("certify-solver-none", lambda: certify(step="lp", solver=None), r"^solver must be a solver name such as 'HIGHS'"),
    case("certify-solver-lp+cuts", lambda: certify(step="lp+cuts", solver="SCIPY"), r"^step 'lp\+cuts' needs solver='HIGHS'"),
    case("certify-workers-float", lambda: certify(step="milp", workers=2.5), r"^workers must be an integer >= 1"),
    case("certify-workers-string", lambda: certify(step="milp", workers="2"), r"^workers must be an integer >= 1"),
    case("certify-workers-zero", lambda: certify(step="decide", workers=0), r"^workers must be an integer >= 1"),
    case("certify-workers-solver", lambda: certify(step="milp", workers=2, solver="SCIPY"), r"^workers other than 1 need solver='HIGHS'"),
    case("certify-stop_at_attack", lambda: certify(step="milp", stop_at_attack="yes"), r"^stop_at_attack must be True or False"),
    case("certify-decide-stop_at_attack", lambda: certify(step="decide", stop_at_attack=1), r"^stop_at_attack must be True or False"),
    case("certify-rounds", lambda: certify(step="lp+cuts", rounds="3"), r"^rounds must be an integer >= 0"),
    case("certify-cut_rounds", lambda: certify(step="decide", cut_rounds=2.5), r"^cut_rounds must be an integer >= 0"),
    case("certify-steps-unknown", lambda: certify(step="decide", steps=("crown", "bogus")), r"^steps must be a non-empty subset of"),
    case("certify-steps-empty", lambda: certify(step="decide", steps=()), r"^steps must be a non-empty subset"),
    case("certify-steps-decide", lambda: certify(step="decide", steps=("decide",)), r"^steps must be a non-empty subset"),
    case("decide-problem", lambda: V.decide("p"), r"^p must be a Problem"),
    case("step-problem", lambda: V.crown(None), r"^p must be a Problem"),
    case("step-targets-int", lambda: V.interval(problem(), 3), r"^targets must be a list among the problem's targets"),
    case("step-targets-other", lambda: V.milp(problem(), [7]), r"^targets must be among the problem's targets \[1, 2, 3, 4\]"),
    case("step-targets-float", lambda: V.exact_milp(problem(), [1.5]), r"^targets must be among the problem's targets"),
    case("step-lp-solver", lambda: V.lp(problem(), solver="OSQP"), r"within a tolerance.*HIGHS"),
    case("pgd_targets-x-batch", lambda: V.pgd_targets(NET, X, 0, [1], 0.1), r"^x must be one image with a batch dimension of 1"),
    case("pgd_targets-x-int", lambda: V.pgd_targets(NET, x.long(), 0, [1], 0.1), r"^x must be a floating-point"),
    case("pgd_targets-y", lambda: V.pgd_targets(NET, x, 9, [1], 0.1), r"^y must be an integer class label in 0\.\.4"),
    case("pgd_targets-targets-big", lambda: V.pgd_targets(NET, x, 0, [9], 0.1), r"^targets must be an integer class label"),
    case("pgd_targets-targets-empty", lambda: V.pgd_targets(NET, x, 0, [], 0.1), r"^targets must be distinct"),
    case("pgd_targets-epsilon", lambda: V.pgd_targets(NET, x, 0, [1], -1), r"^epsilon must be a finite number >= 0"),
    case("pgd_targets-num_iter", lambda: V.pgd_targets(NET, x, 0, [1], 0.1, num_iter=-1), r"^num_iter must be an integer >= 0"),
    case("pgd_targets-restarts", lambda: V.pgd_targets(NET, x, 0, [1], 0.1, restarts=0), r"^restarts must be an integer >= 1"),
    case("pgd_targets-seed", lambda: V.pgd_targets(NET, x, 0, [1], 0.1, seed="a"), r"^seed must be an integer"),
    case("pgd_targets-model", lambda: V.pgd_targets("net", x, 0, [1], 0.1), r"^model must be an nn.Sequential"),
    case("tighten_bounds-batch", lambda: V.tighten_bounds(NET, BOX), r"^initial_bound must hold one box \(batch 1\)"),
    case("tighten_bounds-box", lambda: V.tighten_bounds(NET, "box"), r"^initial_bound must be a pair"),
    case("tighten_bounds-lp", lambda: V.tighten_bounds(NET, ONE, lp="no"), r"^lp must be True or False"),
    case("tighten_bounds-time_limit", lambda: V.tighten_bounds(NET, ONE, time_limit=0), r"^time_limit must be a number"),
    case("tighten_bounds-max_lp_neurons", lambda: V.tighten_bounds(NET, ONE, max_lp_neurons=-1), r"^max_lp_neurons must be an integer >= 0"),
    case("lp_cut_rounds-target-y", lambda: V.lp_cut_rounds(NET, x, 0, 0, 0.1), r"^targets must be distinct .* other than y=0"),
    case("lp_cut_rounds-target-string", lambda: V.lp_cut_rounds(NET, x, 0, "1", 0.1), r"^target must be a class label"),
    case("lp_cut_rounds-rounds", lambda: V.lp_cut_rounds(NET, x, 0, 1, 0.1, rounds=-2), r"^rounds must be an integer >= 0"),
    # the model itself (issue 19; tests/test_model_guard.py has every reason check_network gives)
    case("certify-model-bfloat16", lambda: certify(model=dressed("bfloat16")),
         r"^the weight of layer 1 \(Linear\) of model is torch.bfloat16: .*copy.deepcopy\(model\).float\(\)"),
    case("certify-model-float16", lambda: certify(model=dressed("float16")), r"of model is torch.float16"),
    case("certify-model-meta", lambda: certify(model=dressed("meta")), r"^the weight of layer 1 \(Linear\) of model is on "
                                                                        r"the meta device.*to_empty"),
    case("certify-model-nan", lambda: certify(model=dressed("nan")), r"^the weight of layer 1 \(Linear\) of model holds NaN"),
    case("certify-model-hooked", lambda: certify(model=dressed("hooked")), r"^model has 1 forward hook\(s\)"),
    case("certify-model-subclass", lambda: certify(model=dressed("subclass")), r"^model is a Sub, a subclass of nn.Sequential "
                                                                                r"that overrides forward"),
    case("certify-one-logit", lambda: certify(model=nn.Sequential(nn.Flatten(), nn.Linear(16, 1))),
         r"^model must output at least 2 logits \(one per class\) to be verified, it outputs 1"),
    case("pgd_targets-one-logit", lambda: V.pgd_targets(nn.Sequential(nn.Flatten(), nn.Linear(16, 1)), x, 0, [1], 0.1),
         r"^model must output at least 2 logits"),
]


# --- certified -------------------------------------------------------------------------------

def dressed(kind: str) -> nn.Module:
    """A copy of ``NET`` the verifiers must refuse."""
    model = copy.deepcopy(NET)
    if kind in ("bfloat16", "float16", "meta"):
        return model.to(getattr(torch, kind, kind))
    if kind == "nan":
        with torch.no_grad():
            model[1].weight[2, 3] = math.nan
    if kind == "hooked":
        model.register_forward_hook(lambda m, a, out: out)
    if kind == "subclass":
        return type("Sub", (nn.Sequential,), {"forward": lambda self, x: nn.Sequential.forward(self, x)})(*model)
    return model


def accuracy(**override):
    args = dict(model=NET, data=(X, Y), epsilons=0.1, methods=["interval"], progress=False) | override
    return CE.certified_accuracy(**args)


CERTIFIED_CASES = [
    case("certified_accuracy-model-string", lambda: accuracy(model="small"), r"^model must be an nn.Sequential"),
    case("certified_accuracy-model-tanh", lambda: accuracy(model=nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.Tanh(),
                                                                               nn.Linear(4, 5))),
         r"layer 2 \(Tanh", NotImplementedError),
    case("certified_accuracy-model-bfloat16", lambda: accuracy(model=dressed("bfloat16")),
         r"^the weight of layer 1 \(Linear\) of model is torch.bfloat16"),
    case("certified_accuracy-model-meta", lambda: accuracy(model=dressed("meta")), r"of model is on the meta device"),
    case("certified_accuracy-model-hooked", lambda: accuracy(model=dressed("hooked")), r"^model has 1 forward hook"),
    case("certified_accuracy-one-logit", lambda: accuracy(model=nn.Sequential(nn.Flatten(), nn.Linear(16, 1)),
                                                          data=(X, Y * 0)), r"^model must output at least 2 logits"),
    case("certified_accuracy-labels-out-of-range", lambda: accuracy(data=(X, torch.tensor([0, 9, 2]))),
         r"^data \(labels\) must hold class labels in 0 \.\. 4, got values in \[0, 9\]"),
    case("certified_accuracy-labels-negative", lambda: accuracy(data=(X, torch.tensor([0, -1, 2]))), r"^data \(labels\) must hold"),
    case("certified_accuracy-labels-float", lambda: accuracy(data=(X, Y.float())), r"^data \(labels\) must be an integer"),
    case("certified_accuracy-labels-short", lambda: accuracy(data=(X, Y[:2])), r"^data \(labels\) must have shape \(3,\)"),
    case("certified_accuracy-images-int", lambda: accuracy(data=(X.long(), Y)), r"^data \(images\) must be a floating"),
    case("certified_accuracy-images-empty", lambda: accuracy(data=(X[:0], Y[:0])), r"^data \(images\) must be a batch of at least one"),
    case("certified_accuracy-images-shape", lambda: accuracy(data=(torch.rand(3, 1, 5, 5), Y)), r"layer 1 \(Linear\) expects 16 inputs"),
    case("certified_accuracy-data-string", lambda: accuracy(data="mnist"), r"^data must be a pair \(X, y\) of tensors or a DataLoader"),
    case("certified_accuracy-data-triple", lambda: accuracy(data=(X, Y, Y)), r"^data must be a pair .* tuple of length 3"),
    case("certified_accuracy-data-empty-loader", lambda: accuracy(data=torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X[:0], Y[:0]))), r"^data yielded no examples"),
    case("certified_accuracy-epsilons-string", lambda: accuracy(epsilons="0.1"), r"^epsilons must be a radius >= 0 or a list"),
    case("certified_accuracy-epsilons-none", lambda: accuracy(epsilons=None), r"^epsilons must be a radius"),
    case("certified_accuracy-epsilons-list-string", lambda: accuracy(epsilons=[0.1, "0.2"]), r"^epsilons must be a finite number >= 0"),
    case("certified_accuracy-epsilons-negative", lambda: accuracy(epsilons=-0.1), r"^epsilons must be a finite number >= 0"),
    case("certified_accuracy-epsilons-nan", lambda: accuracy(epsilons=[math.nan]), r"^epsilons must be a finite number"),
    case("certified_accuracy-epsilons-empty", lambda: accuracy(epsilons=[]), r"^epsilons must hold at least one radius"),
    case("certified_accuracy-methods", lambda: accuracy(methods=["pgd"]), r"^methods must be a non-empty subset of \('interval'"),
    case("certified_accuracy-methods-empty", lambda: accuracy(methods=[]), r"^methods must be a non-empty subset"),
    case("certified_accuracy-limit", lambda: accuracy(limit=2.5), r"^limit \(or None\) must be an integer >= 1"),
    case("certified_accuracy-pgd_steps", lambda: accuracy(pgd_steps=0), r"^pgd_steps must be an integer >= 1"),
    case("certified_accuracy-time_limit", lambda: accuracy(time_limit=0), r"^time_limit must be a number of seconds > 0"),
    case("certified_accuracy-workers", lambda: accuracy(workers=2.5), r"^workers must be an integer >= 1"),
    case("certified_accuracy-progress", lambda: accuracy(progress="no"), r"^progress must be True or False"),
    case("bound_sandwich-target-y", lambda: CE.bound_sandwich(NET, x, 0, 0, [0.1]), r"^target must be a class label \(int\) among \[1, 2, 3, 4\]"),
    case("bound_sandwich-target-float", lambda: CE.bound_sandwich(NET, x, 0, 3.7, [0.1]), r"^target must be a class label"),
    case("bound_sandwich-target-whole-float", lambda: CE.bound_sandwich(NET, x, 0, 3.0, [0.1]), r"^target must be a class label"),
    case("bound_sandwich-target-big", lambda: CE.bound_sandwich(NET, x, 0, 9, [0.1]), r"^target must be a class label"),
    case("bound_sandwich-target-string", lambda: CE.bound_sandwich(NET, x, 0, "1", [0.1]), r"^target must be a class label"),
    case("bound_sandwich-y", lambda: CE.bound_sandwich(NET, x, 7, 1, [0.1]), r"^y must be an integer class label in 0\.\.4"),
    case("bound_sandwich-x", lambda: CE.bound_sandwich(NET, X, 0, 1, [0.1]), r"^x must be one image"),
    case("bound_sandwich-epsilons", lambda: CE.bound_sandwich(NET, x, 0, 1, [-0.1]), r"^epsilons must be a finite number >= 0"),
    case("bound_sandwich-epsilons-empty", lambda: CE.bound_sandwich(NET, x, 0, 1, []), r"^epsilons must hold at least one"),
    case("bound_sandwich-time_limit", lambda: CE.bound_sandwich(NET, x, 0, 1, [0.1], time_limit=0), r"^time_limit must be a number"),
    case("interval_certified-labels", lambda: CE.interval_certified(NET, X, torch.tensor([0, 9, 1]), 0.1),
         r"^y must hold class labels in 0 \.\. 4"),
    case("interval_certified-chunk", lambda: CE.interval_certified(NET, X, Y, 0.1, chunk=0), r"^chunk must be an integer >= 1"),
    case("interval_certified-epsilon", lambda: CE.interval_certified(NET, X, Y, -0.1), r"^epsilon must be a finite number >= 0"),
    case("crown_certified-labels", lambda: CE.crown_certified(N.lower(NET, (1, 4, 4)), X, torch.tensor([0, 9, 1]), 0.1),
         r"^y must hold class labels in 0 \.\. 4"),
    case("crown_certified-epsilon", lambda: CE.crown_certified(N.lower(NET, (1, 4, 4)), X, Y, -0.1), r"^epsilon must be"),
    case("from_dict", lambda: CE.CertifiedResult.from_dict({"epsilon": 0.1}),
         r"^d must be a dict from CertifiedResult.as_dict\(\); it lacks methods, verdicts"),
    case("from_dict-not-dict", lambda: CE.CertifiedResult.from_dict([1]), r"^d must be a dict"),
    case("from_dict-verdict-letter", lambda: CE.CertifiedResult.from_dict(accuracy()[0].as_dict() | {"verdicts": "rxu"}),
         r"^d\['verdicts'\] must be a string of the letters r, a, u \(one per image\), got 'x' in it"),
    case("from_dict-verdicts-list", lambda: CE.CertifiedResult.from_dict(accuracy()[0].as_dict() | {"verdicts": ["r"] * 3}),
         r"^d\['verdicts'\] must be a string of the letters r, a, u \(one per image\), got a list$"),
    case("from_dict-survived-letter", lambda: CE.CertifiedResult.from_dict(accuracy()[0].as_dict() | {"survived_pgd": "012"}),
         r"^d\['survived_pgd'\] must be a string of the letters 0, 1 \(one per image\), got '2'"),
    case("from_dict-lengths", lambda: CE.CertifiedResult.from_dict(accuracy()[0].as_dict() | {"verdicts": "ru"}),
         r"^d\['verdicts'\], d\['decided_by'\] and d\['survived_pgd'\] must have one entry per image each, got 2, 3 and 3"),
    case("certified-method", lambda: accuracy()[0].certified("milp"), r"^method must be one of those run, \('interval',\)"),
    case("accuracy_curves-empty", lambda: CE.accuracy_curves([]), r"^results must hold at least one CertifiedResult"),
]


# --- solvers, programs, workers, records ---------------------------------------------------------

PLUMBING_CASES = [
    case("check_solver-none", lambda: S.check_solver(None), r"^solver must be a solver name such as 'HIGHS'"),
    case("check_solver-approximate", lambda: S.check_solver("SCS"), r"within a tolerance.*HIGHS"),
    case("time_limit_options", lambda: S.time_limit_options("HIGHS", -1), r"^time_limit must be a number of seconds > 0"),
    case("new_highs-option", lambda: S.new_highs({"no_such_option": 2}), r"^options: HiGHS has no option 'no_such_option'"),
    case("new_highs-value", lambda: S.new_highs({"time_limit": "soon"}), r"^options: HiGHS has no option 'time_limit' taking"),
    case("fix_highs_threads", lambda: S.fix_highs_threads(0), r"^threads must be an integer >= 1"),
    case("build_program-box-size", lambda: P.build_program(N.lower(NET, (1, 4, 4)).matrices(), (np.zeros(15), np.ones(15)),
                                                           [(-np.ones(8), np.ones(8))]),
         r"^box must be a pair \(l, u\) of 16 numbers each, got 15 and 15"),
    case("build_program-box-empty", lambda: P.build_program(N.lower(NET, (1, 4, 4)).matrices(), (np.ones(16), np.zeros(16)),
                                                            [(-np.ones(8), np.ones(8))]), r"^box is empty: l > u"),
    case("build_program-box-nan", lambda: P.build_program(N.lower(NET, (1, 4, 4)).matrices(), (np.full(16, np.nan), np.ones(16)),
                                                          [(-np.ones(8), np.ones(8))]), r"^box must be finite"),
    case("build_program-bounds-missing", lambda: P.build_program(N.lower(NET, (1, 4, 4)).matrices(), (np.zeros(16), np.ones(16)), []),
         r"^pre_bounds must hold one \(l, u\) per hidden layer \(1\), got 0"),
    case("build_program-bounds-size", lambda: P.build_program(N.lower(NET, (1, 4, 4)).matrices(), (np.zeros(16), np.ones(16)),
                                                              [(-np.ones(7), np.ones(7))]),
         r"^pre_bounds\[0\] must be a pair \(l, u\) of 8 numbers each"),
    case("build_program-bounds-infinite", lambda: P.build_program(N.lower(NET, (1, 4, 4)).matrices(), (np.zeros(16), np.ones(16)),
                                                                  [(-np.full(8, np.inf), np.ones(8))]),
         r"^pre_bounds\[0\] must be finite"),
    case("hull_cuts-values", lambda: P.hull_cuts(program(relax=True).program, np.zeros(3)),
         r"^values must hold every column of the program"),
    case("form_milp-c-size", lambda: P.form_milp(NET, np.ones(3), ONE, B.bound_propagation(NET, ONE)),
         r"^c must have one finite entry per logit \(5\), got 3"),
    case("form_milp-c-string", lambda: P.form_milp(NET, "c", ONE, B.bound_propagation(NET, ONE)), r"^c must be numbers"),
    case("form_milp-batch", lambda: P.form_milp(NET, np.ones(5), BOX, B.bound_propagation(NET, BOX)),
         r"^initial_bound must hold one box \(batch 1\)"),
    case("form_lp-bounds", lambda: P.form_lp(NET, np.ones(5), ONE, B.bound_propagation(NET, ONE)[:2]),
         r"^bounds must have one \(l, u\) per layer of the model \(4\), got 2"),
    case("form_milp-stable_binaries", lambda: P.form_milp(NET, np.ones(5), ONE, B.bound_propagation(NET, ONE),
                                                          stable_binaries="yes"), r"^stable_binaries must be True or False"),
    case("set_logit_objective", lambda: program().set_logit_objective(np.ones(3)), r"^c must be 5 finite numbers, one per logit"),
    case("start_from", lambda: program().start_from(np.zeros(3)), r"^x must be a flattened input of 16 numbers"),
    case("solve-time_limit-zero", lambda: program().solve(time_limit=0), r"^time_limit must be a number of seconds > 0"),
    case("solve-time_limit-string", lambda: program().solve(time_limit="1"), r"^time_limit must be a number"),
    case("solve_with_cuts-rounds", lambda: P.solve_with_cuts(program(relax=True), rounds=-1), r"^rounds must be an integer >= 0"),
    case("solve_with_cuts-mip", lambda: P.solve_with_cuts(program()), r"^solve_with_cuts needs the LP relaxation"),
    case("worker_pool-zero", lambda: W.worker_pool(0).__enter__(), r"^workers must be an integer >= 1"),
    case("worker_pool-initializer", lambda: W.worker_pool(1, initializer="f").__enter__(), r"^initializer must be a function"),
    case("load_certified-number", lambda: R.load_certified(3), r"^model_name must be a model's name such as 'small'"),
    case("load_certified-missing", lambda: R.load_certified("nosuch"), r"model_name='nosuch'.*certified --model nosuch.*certified_nosuch.*source='user'",
         FileNotFoundError),
]


@pytest.mark.parametrize("call, error, match", NETWORK_CASES + BOUNDS_CASES + VERIFY_CASES + CERTIFIED_CASES
                         + PLUMBING_CASES)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_unavailable_device_names_the_setting_that_asked_for_it():
    with pytest.raises(ValueError, match=r"^lower\(device=...\) asks for 'cuda', but CUDA is not available here"):
        N.lower(NET, (1, 4, 4), device="cuda")


@pytest.mark.parametrize("argv, option", [
    (["--eps", "-1"], "--eps: must be a radius >= 0, got '-1'"), (["--eps", "nan"], "--eps: must be a radius"),
    (["--eps", "x"], "--eps: must be a radius"), (["--n", "0"], "--n: must be a whole number in 1..10000"),
    (["--n", "20000"], "--n: must be a whole number in 1..10000"), (["--n", "2.5"], "--n: must be a whole number"),
    (["--workers", "0"], "--workers: must be a whole number >= 1"),
    (["--time-limit", "0"], "--time-limit: must be a number of seconds > 0"),
    (["--time-limit", "inf"], "--time-limit: must be a number of seconds > 0"),
    (["--methods", "pgd"], "--methods: invalid choice: 'pgd'"), (["--model", "big"], "--model: invalid choice: 'big'"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_certified_cli_rejects_bad_options(argv, option, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["certified", *argv])
    assert stop.value.code == 2
    assert option in capsys.readouterr().err


# --- the widgets' constructors -------------------------------------------------------------------


@pytest.fixture(scope="module")
def widget_data():
    pytest.importorskip("ipywidgets")
    from course_utils import widgets
    from course_utils.data import eval_subset
    from course_utils.models import load_model
    X, y = eval_subset(30)
    return widgets, {"small": load_model("small")}, X, y


WIDGET_CASES = [
    ("logit_bounds_widget", dict(models=[]), r"^models must be a non-empty dict of name -> model"),
    ("logit_bounds_widget", dict(models={}), r"^models must be a non-empty dict .* \(empty\)"),
    ("logit_bounds_widget", dict(models={"a": "small"}), r"^models\['a'\] must be a torch.nn.Module"),
    ("logit_bounds_widget", dict(X="images"), r"^X must be a floating-point torch.Tensor"),
    ("logit_bounds_widget", dict(y="labels"), r"^y must be an integer torch.Tensor"),
    ("logit_bounds_widget", dict(y_short=True), r"^y must have shape \(30,\)"),
    ("logit_bounds_widget", dict(y_ten=True), r"^y must hold class labels in 0 \.\. 9"),
    ("logit_bounds_widget", dict(epsilon=-1), r"^epsilon must be a finite number >= 0"),
    ("logit_bounds_widget", dict(epsilon="0.1"), r"^epsilon must be a finite number >= 0"),
    ("logit_bounds_widget", dict(epsilon=5), r"^epsilon must be in 0 \.\. eps_max = 0.2"),
    ("logit_bounds_widget", dict(index=30), r"^index must be an image's index, an integer in 0 \.\. 29"),
    ("logit_bounds_widget", dict(index=1.5), r"^index must be an image's index"),
    ("logit_bounds_widget", dict(model="dnn9"), r"^model must be one of \['small'\]"),
    ("bound_comparison_widget", dict(methods=("interval", "magic")), r"^methods must be a non-empty subset of"),
    ("bound_comparison_widget", dict(time_limit=0), r"^time_limit must be a number of seconds > 0"),
    ("bound_comparison_widget", dict(n_images=0), r"^n_images must be an integer >= 1"),
    ("bound_comparison_widget", dict(eps_max=-1), r"^eps_max must be a finite number >= 0"),
    ("bound_comparison_widget", dict(epsilon=0.5), r"^epsilon must be in 0 \.\. eps_max = 0.1"),
    ("bound_comparison_widget", dict(live="yes"), r"^live must be True or False"),
    ("bound_comparison_widget", dict(index=10), r"^index must be an image's index, an integer in 0 \.\. 9"),
    ("certified_widget", dict(method="lp"), r"^method must be one of \('interval', 'crown', 'lp\+cuts', 'milp'\)"),
    ("certified_widget", dict(M=0), r"^M must be an integer >= 1"),
    ("certified_widget", dict(N=2.5), r"^N must be an integer >= 1"),
    ("certified_widget", dict(time_limit=-1), r"^time_limit must be a number of seconds > 0"),
    ("certified_widget", dict(live=1), r"^live must be True or False"),
    ("certified_widget", dict(eps_max="a"), r"^eps_max must be a finite number >= 0"),
]


@pytest.mark.parametrize("name, override, match", WIDGET_CASES,
                         ids=[f"{n}-{next(iter(o))}-{i}" for i, (n, o, _) in enumerate(WIDGET_CASES)])
def test_widget_constructors_name_bad_arguments(widget_data, name, override, match):
    widgets, models, X, y = widget_data
    args = dict(models=models, X=X, y=y) | override
    if args.pop("y_short", False):
        args["y"] = y[:3]
    if args.pop("y_ten", False):
        args["y"] = y * 0 + 10
    with pytest.raises(ValueError, match=match):
        getattr(widgets, name)(**args)
