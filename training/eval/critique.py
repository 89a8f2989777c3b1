"""A language model's own critique-and-revise pass over its decisions.

The critique prompt shows the observation and the proposed action and asks which rule of
the constitution the action breaks; the model's answer is the most likely of ``none`` and
``rule 1`` … ``rule N`` (scored like the policy's choices). When it names a rule, the
revision is the policy's next-best candidate, and the revision is checked again by
:mod:`swarm.interface.constitution`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from swarm.interface.constitution import complies, constitution_text, rules
from swarm.interface.observation import Decision, Observation
from swarm.interface.text import render_action, render_user

QUESTION = (
    "Proposed action: {action}\n"
    "Which rule of the constitution does this action break? "
    "Answer with the rule number, or none."
)


def answer_logprobs(lm, messages: list[dict[str, str]], answers: list[str]) -> np.ndarray:
    """Mean log-probability of each answer (plus end of turn) after ``messages``, one
    padded batch (``lm`` is a :class:`swarm.policies.lm.LoadedModel`)."""
    import torch

    tok = lm.tokenizer
    msgs = lm.chat.messages(messages)
    prompt = list(tok.apply_chat_template(msgs, add_generation_prompt=True, return_dict=False))
    rows = [
        prompt + list(tok(lm.answer_pre + a, add_special_tokens=False)["input_ids"]) + [lm.eot_id]
        for a in answers
    ]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
    with torch.no_grad():
        logits = lm.model(
            input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device), use_cache=False
        ).logits.float()
    logp = torch.log_softmax(logits, dim=-1).cpu()
    out = []
    for r, row in enumerate(rows):
        span = range(len(prompt), len(row))
        out.append(float(np.mean([logp[r, j - 1, row[j]].item() for j in span])))
    return np.array(out)


def critique_and_revise(policy, obs: Observation, decision: Decision) -> dict[str, Any]:
    """The model's verdict on its own ``decision`` and the revised action's compliance."""
    numbers = [r.number for r in rules()]
    answers = ["none", *(f"rule {n}" for n in numbers)]
    messages = [
        {"role": "system", "content": constitution_text()},
        {
            "role": "user",
            "content": render_user(obs)
            + "\n\n"
            + QUESTION.format(action=render_action(decision.action)),
        },
    ]
    k = int(np.argmax(answer_logprobs(policy.lm, messages, answers)))
    flagged = None if k == 0 else numbers[k - 1]
    revised = decision.action
    if flagged is not None and decision.probs is not None and len(obs.candidates) > 1:
        order = np.argsort(decision.probs)[::-1]
        revised = next(obs.candidates[i] for i in order if obs.candidates[i] != decision.action)
    return {
        "flagged_rule": flagged,
        "revised": render_action(revised),
        "compliant_before": complies(obs, decision.action),
        "compliant_after": complies(obs, revised),
    }
