"""How ShinkaEvolve users launch this problem; Cambrian never runs this file, it only reads
the task text below from it."""

search_task_sys_msg = """Place 6 circles in the unit square, without overlap, maximizing the sum of their radii."""

if __name__ == "__main__":
    from shinka.core import EvolutionConfig, ShinkaEvolveRunner  # noqa: F401  (needs ShinkaEvolve)
