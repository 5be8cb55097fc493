"""Score the parameters under the 'trap' landscape of cambrian/landscapes.py (1.0 is optimal).

The program only assigns constants, so it is run here with exec, not in a process of
its own: the bench measures the search, and this keeps an evaluation cheap."""


def evaluate(program_path):
    from cambrian.landscapes import score

    with open(program_path) as f:
        text = f.read()
    namespace = {}
    exec(compile(text, program_path, "exec"), namespace)
    values = [float(v) for v in namespace["params"]()]
    observed, true = score("trap", values, text)
    return {"combined_score": observed, "true_score": true}
