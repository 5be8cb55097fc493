"""Score a classification prompt: the evolved text is the system message, each review
the user message, and a model (any provider Cambrian speaks to) answers.

combined_score is the accuracy on the training reviews; private_test_accuracy, on
reviews the search never sees in a prompt, is for people (metrics named private_* are
never shown to the model that rewrites the prompt).
"""

import json
import os
from pathlib import Path

from cambrian.llm.direct import ask

HERE = Path(__file__).resolve().parent
MODEL = os.environ.get("PROMPT_MODEL", "openai:gpt-4o-mini")


def accuracy(prompt, items):
    chats = [[{"role": "system", "content": prompt}, {"role": "user", "content": item["text"]}]
             for item in items]
    answers = ask(MODEL, chats, max_tokens=8)
    right = sum(answer.strip().lower().startswith(item["label"]) for answer, item in zip(answers, items))
    return right / len(items)


def evaluate(program_path):
    prompt = Path(program_path).read_text(encoding="utf-8").strip()
    if not prompt:
        return {"invalid": "the prompt is empty"}
    if len(prompt) > 2000:
        return {"invalid": f"the prompt is {len(prompt)} characters, over the 2000 allowed"}
    data = json.loads((HERE / "dataset.json").read_text())
    return {"combined_score": accuracy(prompt, data["train"]),
            "private_test_accuracy": accuracy(prompt, data["test"]),
            "prompt_chars": len(prompt)}
