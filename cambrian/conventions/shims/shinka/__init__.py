"""Cambrian's stand-in for the ``shinka`` package (ShinkaEvolve), so that evaluators
written for it run when it is not installed. Placed after site-packages on the
evaluator's path: an installed ShinkaEvolve wins."""
