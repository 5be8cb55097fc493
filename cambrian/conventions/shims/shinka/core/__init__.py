"""``shinka.core`` as evaluators import it: ``from shinka.core import run_shinka_eval``
(ShinkaEvolve's examples) or ``from shinka.core.wrap_eval import run_shinka_eval`` (its API
reference)."""

from .wrap_eval import load_program, run_shinka_eval, save_json_results

__all__ = ["load_program", "run_shinka_eval", "save_json_results"]
