#!/usr/bin/env bash
# Full-test-set figures for notebooks 02-05, merged into the shipped record attack_errors
# (course_utils/assets/results/attack_errors.json: --shipped, a checkout only; --force replaces
# the entries recorded before). Run from the project root:
#   nice -n 10 bash benchmarks/full_test_set_attacks.sh dense|cnn
# Each line of output (and the JSON entry) records error, seconds and the exact command.
set -euo pipefail
PY=".venv/bin/python"
EVALUATE="$PY -m course_utils evaluate --shipped --force"
case "${1:-all}" in
  dense|all)
    $EVALUATE --no-progress --models dnn2 dnn4 --attacks fgsm pgd_linf pgd_l2
    ;;&
  cnn|all)
    # The CNN costs ~0.7 s per 1000 images per forward+backward on an idle 2-core machine
    # (40-step PGD over the full test set: ~5 min), many times that on a shared one.
    # Most important first; restarts (400 steps per image) on the first 1000 images.
    $EVALUATE --no-progress --models cnn --attacks fgsm
    $EVALUATE --no-progress --models cnn --attacks pgd_linf --clamp off
    $EVALUATE --no-progress --models cnn --attacks pgd_l2 --clamp on
    $EVALUATE --no-progress --models cnn --attacks pgd_linf_rand --clamp off --n 1000
    $EVALUATE --no-progress --models cnn --attacks pgd_linf --clamp on
    $EVALUATE --no-progress --models cnn --attacks pgd_l2 --clamp off
    $EVALUATE --no-progress --models cnn --attacks pgd_linf_rand --clamp on --n 1000
    ;;
esac
