"""Symbolic regression: find the formula behind a dataset, judged on data it never saw.

The data are generated here, deterministically: three inputs uniform on [-2, 2],
targets from a fixed formula plus Gaussian noise (sigma NOISE), TRAIN points for
the search and HELDOUT points from another seed for the held-out check. The
program's ``predict(X)`` returns one prediction per row.

Objective (minimize): the normalized mean squared error on the training points,
NMSE = MSE / variance of the targets (a constant prediction scores 1). The held-out
NMSE is reported as the metric ``private_heldout_nmse``: the search never selects
on it and prompts never show it (metrics named ``private_*`` are kept out of
prompts); it shows whether what the search found generalizes. The held-out points
are drawn afresh for every evaluation from a secret seed: the training seed is in
this file, which a candidate can read, so a program can reproduce the training
targets exactly (NMSE 0); it cannot reproduce points drawn after it started. A
training score is a record only if the held-out NMSE also beats the generating
formula's on the same fresh points.

Certified: the error is recomputed from the predictions; a wrong shape, NaN, inf,
complex, subnormal values, or a program that modifies the inputs it is given, is
invalid with the reason.
"""

import secrets

import numpy as np

from cambrian.candidate import load
from cambrian.certify import GATE, Invalid, finite_score, invalid, real_array, report, unchanged

TRAIN, HELDOUT = 200, 2000          # held-out: drawn afresh each time, so large enough to be stable
NOISE = 0.05
DIRECTION = "minimize"


def truth(X):
    return 1.5 * np.sin(X[:, 0]) * X[:, 1] + 0.5 * X[:, 2] ** 2 - 0.8 * X[:, 0]


def dataset(split, seed=None):
    """(X, y) of the 'train' split (fixed), or of a 'heldout' split: from ``seed``, or
    from a fresh secret seed (what ``evaluate`` uses: the candidate cannot know it)."""
    if split == "train":
        n, seed = TRAIN, 101
    else:
        n, seed = HELDOUT, (secrets.randbits(64) | 1 << 64) if seed is None else seed
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    return X, truth(X) + NOISE * rng.standard_normal(n)


def nmse(y, prediction):
    """MSE / var(y) of a prediction, or ``Invalid``."""
    p = real_array(prediction, name="predictions", shape=(len(y),))
    return finite_score(np.mean((p - y) ** 2) / np.var(y), "NMSE")


def predict_checked(predict, X):
    """The program's predictions for X; a program that modifies X is invalid."""
    given = X.copy()
    given.setflags(write=False)
    try:
        out = predict(given)
    except ValueError as exc:
        if "read-only" in str(exc):
            raise Invalid("the program modified its input X") from None
        raise
    unchanged(X, given, "X")
    return out


X_TRAIN, Y_TRAIN = dataset("train")
BEST_KNOWN = float(np.mean((truth(X_TRAIN) - Y_TRAIN) ** 2) / np.var(Y_TRAIN))   # the generating formula


def evaluate(program_path):
    # The candidate runs in its own confined process; only plain data and arrays come back.
    predict = load(program_path).predict
    X_held, y_held = dataset("heldout")
    try:
        train = nmse(Y_TRAIN, predict_checked(predict, X_TRAIN))
        held = nmse(y_held, predict_checked(predict, X_held))
    except Invalid as exc:
        return invalid(str(exc))
    out = report(train, best_known=BEST_KNOWN, direction=DIRECTION, private_heldout_nmse=held)
    floor = float(np.mean((truth(X_held) - y_held) ** 2) / np.var(y_held))
    if out["record"] and not held < floor * (1 - GATE):
        # Below the noise floor on the training points only: noise fitted or memorized.
        out["record"] = 0.0
        out["note"] = (f"training NMSE {train:.6g} is below the noise floor {BEST_KNOWN:.6g}, but the "
                       f"held-out NMSE {held:.6g} does not beat the formula's {floor:.6g}: not a record")
    return out
