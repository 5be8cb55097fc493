"""Cambrian's stand-in for the ``openevolve`` package, so that evaluators written for
OpenEvolve import what they need when openevolve is not installed. It is placed
after site-packages on the evaluator's path: an installed openevolve wins."""
