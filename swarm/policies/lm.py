"""The language-model policy: every agent's decision from a local causal LM.

``LMPolicy.from_pretrained(path)`` loads a model directory, or a PEFT adapter directory
with its base (merged for inference). Models are cached by path and device, so every
agent and every model (dashboard resets included) shares one copy.

``mode="choice"`` (default) scores each legal candidate's canonical text
(:func:`swarm.interface.text.render_action` plus the end-of-turn token) as the continuation of
the rendered prompt and picks the best by length-normalised log-probability (argmax, or a
sample at ``temperature > 0``); it can never choose an illegal action. The work per step:

* the system prompt (the constitution) is the same for every agent and every step: its
  keys and values are computed once, at load, and reused;
* all agents' prompts are scored in batched forward passes (up to ``batch_size`` rows
  of similar length, the longest at most ``length_ratio`` times the shortest), each
  row holding one agent's observation followed by its candidates as a prefix tree
  (:func:`candidate_tree`): a shared start such as ``move`` is fed once for all eight
  moves, and a candidate's last token (the end of turn) is only predicted, never fed.
  A 4-D attention mask lets each tree node see the observation and its own ancestors
  but no other branch, and its position id is the observation's end plus its depth.
  One pass scores every candidate of every agent in the batch.

``mode="generate"`` writes the answer greedily (or sampled) and reads it with
:func:`swarm.interface.text.parse_action`; an unparseable or illegal answer falls back to a safe
action (``wait``, else the first candidate) and is counted in :attr:`LMPolicy.stats`.

Each :class:`Decision` carries ``probs`` (choice mode) and ``info`` with the decision's
share of the step's latency and its token counts.

In a group decision (:meth:`LMPolicy.propose`) the model reads the member's view in the
same text format (:func:`swarm.interface.text.render_proposal_user`) and chooses each
component's option by scoring answers (``propose 2 0 1 1 2``): for component ``k``, the
``options`` answers that differ from the reading's first choices only there, all
components scored in one forward pass (a coordinate-wise choice: ``options`` ×
``components`` answers instead of ``options ** components``).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from swarm.interface.chat_format import (
    ChatFormat,
    check_template,
    load_chat_format,
    shared_prompt_prefix,
)
from swarm.interface.constitution import constitution_text
from swarm.interface.observation import Decision, Observation, ProposalView
from swarm.interface.text import (
    ActionParseError,
    parse_action,
    render_action,
    render_proposal,
    render_proposal_user,
    render_user,
    special_token_in,
)
from swarm.world.actions import WAIT


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: str
    path: str
    eot_id: int
    prefix_ids: list[int] = field(default_factory=list)
    prefix_kv: list[tuple[Any, Any]] = field(default_factory=list)
    prefix_text: str = ""  # the shared start of every prompt, as text
    split_ok: bool = False  # the text after the shared start tokenizes on its own
    cache_kwarg: str = "past_key_values"  # the decoder's name for its KV cache argument
    chat: ChatFormat = field(default_factory=ChatFormat)  # how messages meet the template
    answer_pre: str = ""  # what the template writes before an answer's content


_MODELS: dict[tuple[str, str, str], LoadedModel] = {}


#: The devices a policy or a training run can be put on.
DEVICES = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_device(device: str) -> str:
    """``device`` if it names a device (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``),
    else a one-line ValueError."""
    if not isinstance(device, str) or not DEVICES.fullmatch(device):
        raise ValueError(f"device {device!r} is not auto, cpu, cuda, cuda:N or mps")
    return device


def pick_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when there is a GPU, else ``cpu``; anything else as given."""
    import torch

    check_device(device)
    if device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: no such CUDA device here")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps': not available here")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def adapter_base(path: str | Path) -> Path | None:
    """What ``path`` holds: a PEFT adapter (returns its local base model directory) or a
    full model directory (returns None); anything else is a one-line ValueError. Weights
    must be safetensors: a directory with only pickled weights (``*.bin``, ``*.pt``) is
    refused, since loading a pickle can run code."""
    path = Path(path)
    meta = path / "adapter_config.json"
    if meta.exists():
        try:
            base = json.loads(meta.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, RecursionError):
            raise ValueError(f"{meta}: not an adapter config") from None
        base = base or ""
        if not Path(base).is_dir():
            raise ValueError(f"{path}: its base model {base!r} is not a local directory")
        _safetensors_only(path, ("adapter_model.safetensors",))
        _safetensors_only(Path(base))
        return Path(base)
    if (path / "config.json").exists():
        _safetensors_only(path)
        return None
    raise ValueError(f"{path}: not a model directory or a PEFT adapter directory")


def _safetensors_only(
    path: Path, names: tuple[str, ...] = ("model.safetensors", "model.safetensors.index.json")
) -> None:
    if not any((path / n).is_file() for n in names):
        pickled = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth"))
        what = f"only pickled weights ({pickled[0]})" if pickled else "no weights"
        raise ValueError(f"{path}: holds {what}; models are loaded from safetensors only")


def _where(path: Path, chat: ChatFormat | None) -> tuple[Path | None, ChatFormat, Path]:
    """What ``path`` holds (its adapter base, or None), its chat block (``chat``, else the
    saved one) and the directory its tokenizer comes from."""
    base = adapter_base(path)  # what it is, and safetensors weights: checked first
    if chat is None:
        chat = load_chat_format(path, *([base] if base is not None else []))
    tok_dir = path if base is None or (path / "tokenizer_config.json").exists() else base
    return base, chat, tok_dir


def _checked_tokenizer(tok_dir: Path, chat: ChatFormat):
    """The tokenizer of ``tok_dir`` under ``chat``, and what its template writes before
    and after an answer; a tokenizer or template we cannot use is a one-line ValueError."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(tok_dir))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{tok_dir}: its tokenizer cannot be loaded ({exc})".splitlines()[0]
        ) from None
    chat.apply_to(tokenizer)
    return tokenizer, *check_template(tokenizer, chat, tok_dir)


def check_model_dir(path: str | Path, chat: ChatFormat | None = None) -> None:
    """A one-line ValueError unless ``path`` is a model or adapter directory whose chat
    template renders our conversations (under ``chat``, default the saved block); the
    weights are not loaded."""
    _, chat, tok_dir = _where(Path(path), chat)
    _checked_tokenizer(tok_dir, chat)


def load_model(
    path: str | Path, device: str = "auto", chat: ChatFormat | None = None
) -> LoadedModel:
    """Load (once per path, device and chat block) a model directory or a PEFT adapter
    directory. ``chat`` defaults to the block saved in the directory (fine-tuning writes
    it; :mod:`swarm.interface.chat_format`), else the template's native rendering."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging

    logging.disable_progress_bar()
    path = Path(path)
    device = pick_device(device)
    base, chat, tok_dir = _where(path, chat)
    key = (str(path.resolve()), device, chat.model_dump_json())
    if key in _MODELS:
        return _MODELS[key]
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if base is not None:
        from peft import PeftModel

        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype, use_safetensors=True)
        model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype, use_safetensors=True)
    tokenizer, answer_pre, answer_post = _checked_tokenizer(tok_dir, chat)
    model.eval().to(device)
    post = tokenizer(answer_post, add_special_tokens=False)["input_ids"] if answer_post else []
    eot = post[0] if post else tokenizer.eos_token_id
    loaded = LoadedModel(model, tokenizer, device, str(path), eot, chat=chat, answer_pre=answer_pre)
    _prepare_prefix(loaded)
    _MODELS[key] = loaded
    return loaded


def _prepare_prefix(m: LoadedModel) -> None:
    """Tokens and keys/values of the start every prompt shares (the system turn and what
    the template writes up to the user's text), whether the rest of a prompt can be
    tokenized without it, and the cache argument's name."""

    import torch

    m.prefix_ids, text = shared_prompt_prefix(m.tokenizer, m.chat, constitution_text())
    m.split_ok = text is not None
    m.prefix_text = text or ""
    m.cache_kwarg = cache_argument(m.model)
    with torch.no_grad():
        out = m.model(torch.tensor([m.prefix_ids], device=m.device), use_cache=True)
    m.prefix_kv = kv_of(out)


# Shared-prefix keys and values (also used by the fine-tuning trainer) ---------------------


def cache_argument(model) -> str:
    """The decoder's name for its KV-cache argument (``cache`` in transformers 5.x,
    ``past_key_values`` before)."""
    import inspect

    params = inspect.signature(model.get_decoder().forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def kv_of(output) -> list[tuple[Any, Any]]:
    """Per layer (keys, values) of a forward pass run with ``use_cache=True``."""
    cache = output.get("cache")  # renamed from past_key_values in transformers 5
    if cache is None:
        cache = output.past_key_values
    return [(k, v) for k, v, *_ in cache]


def segment_mask(seg, past: int, sees_prefix, dtype):
    """The additive 4-D attention mask ``(rows, 1, width, past + width)`` for rows cut
    into segments after a shared prefix of ``past`` tokens (held in the cache).

    ``seg`` (rows × width, integer tensor) names each token's segment; a token sees the
    earlier tokens of its own segment, and the prefix where ``sees_prefix`` (a bool
    tensor, or True for every token) says so."""
    import torch

    width = seg.shape[1]
    same = seg[:, :, None] == seg[:, None, :]
    return additive_mask(
        torch.ones(width, width, dtype=torch.bool).tril() & same, past, sees_prefix, dtype
    )


def additive_mask(allow, past: int, sees_prefix, dtype):
    """``allow`` (rows × width × width, bool: query token sees key token) widened by the
    ``past`` prefix columns (seen where ``sees_prefix`` says) and made additive:
    ``(rows, 1, width, past + width)``, 0 where seen, the dtype's minimum elsewhere."""
    import torch

    n, width, _ = allow.shape
    prefix = torch.as_tensor(sees_prefix, dtype=torch.bool).expand(n, width)
    full = torch.cat([prefix[:, :, None].expand(n, width, past), allow], dim=2)
    mask = torch.zeros(full.shape, dtype=dtype).masked_fill(~full, torch.finfo(dtype).min)
    return mask[:, None]


def candidate_tree(prompt_len: int, cands: list[list[int]]):
    """The candidates of one prompt as a prefix tree, for scoring them in one pass.

    Every candidate's tokens but its last are fed as tree nodes, each shared prefix
    once (``move`` once for the eight moves; the final token, the end of turn, is only
    ever predicted, never fed). Returns ``(tokens, parent, depth, sources)``: the nodes'
    token ids, parent node (-1: the prompt) and depth, and for each candidate the
    column that predicts each of its tokens (the prompt's last token for the first,
    else the node of the tokens before it; columns count from the prompt's start)."""
    nodes: dict[tuple[int, ...], int] = {}
    tokens, parent, depth, sources = [], [], [], []
    for c in cands:
        cols = [prompt_len - 1]
        for i in range(len(c) - 1):
            key = tuple(c[: i + 1])
            if key not in nodes:
                nodes[key] = len(tokens)
                tokens.append(c[i])
                parent.append(nodes[key[:-1]] if i else -1)
                depth.append(i)
            cols.append(prompt_len + nodes[key])
        sources.append(cols)
    return tokens, parent, depth, sources


def shared_cache(kv: list[tuple[Any, Any]], n: int):
    """A cache holding one prefix's keys/values for ``n`` rows (views, not copies; in
    training, gradients flow back to the one prefix pass)."""
    from transformers import DynamicCache

    return DynamicCache(
        ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in kv]
    )


def special_token_of(tokenizer, text: str) -> str | None:
    """The first special token of ``tokenizer`` (or chat special token ``<|...|>``) that
    ``text`` holds, or None: content must never carry one into a prompt."""
    found = special_token_in(text)
    if found is not None:
        return found
    specials = getattr(tokenizer, "_swarm_specials", None)
    if specials is None:
        specials = sorted(
            {t for t in tokenizer.all_special_tokens if t}
            | {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
        )
        tokenizer._swarm_specials = specials
    return next((s for s in specials if s in text), None)


def prompt_ids(m: LoadedModel, obs: Observation) -> list[int]:
    """The tokens after the shared system prefix: the user turn and the assistant header
    (only that part is tokenized, when the template allows it; checked at load)."""
    user = render_user(obs)
    token = special_token_of(m.tokenizer, user)
    if token is not None:  # it would be encoded as a real special token: a forged turn
        raise ValueError(f"agent {obs.agent_id}'s observation holds the special token {token!r}")
    return user_prompt_ids(m, user)


def user_prompt_ids(m: LoadedModel, user: str) -> list[int]:
    """:func:`prompt_ids` of a user message already checked for special tokens."""
    msgs = [
        {"role": "system", "content": constitution_text()},
        {"role": "user", "content": user},
    ]
    tok = m.tokenizer
    text = tok.apply_chat_template(
        m.chat.messages(msgs), add_generation_prompt=True, tokenize=False
    )
    if m.split_ok:
        return list(tok(text[len(m.prefix_text) :], add_special_tokens=False)["input_ids"])
    ids = list(tok(text, add_special_tokens=False)["input_ids"])
    if ids[: len(m.prefix_ids)] != m.prefix_ids:
        raise ValueError(f"{m.path}: a prompt does not start with the shared prompt prefix")
    return ids[len(m.prefix_ids) :]


class LMPolicy:
    """Decisions from a causal language model (see the module docstring)."""

    name = "lm"

    def __init__(
        self,
        loaded: LoadedModel,
        mode: str = "choice",
        temperature: float = 0.0,
        batch_size: int | None = None,
        max_new_tokens: int = 12,
        seed: int | None = None,
        score: str = "mean",
        length_ratio: float | None = None,
    ) -> None:
        if mode not in ("choice", "generate"):
            raise ValueError(f"mode must be 'choice' or 'generate', got {mode!r}")
        if length_ratio is not None and not length_ratio >= 1:
            raise ValueError(f"length_ratio must be at least 1, got {length_ratio!r}")
        if score not in ("mean", "sum"):
            raise ValueError(f"score must be 'mean' (length-normalised) or 'sum', got {score!r}")
        self.lm = loaded
        self.mode = mode
        self.score = score
        self.temperature = float(temperature)
        # On a CPU, up to 8 rows whose lengths are within 25 % of each other are fastest
        # (measured on the benchmark's and the demo swarm's observations against 2, 4
        # and 16 rows, and against no length limit); a GPU wants many rows.
        gpu = loaded.device.startswith("cuda")
        self.batch_size = int(batch_size or (64 if gpu else 8))
        self.length_ratio = float(length_ratio or (float("inf") if gpu else 1.25))
        self.max_new_tokens = int(max_new_tokens)
        self.rng = np.random.default_rng(seed)
        self.name = f"lm:{loaded.path}"
        self._cand_ids: dict[str, list[int]] = {}
        self.stats: dict[str, float] = {
            "decisions": 0,
            "forward_passes": 0,
            "prompt_tokens": 0,
            "candidate_tokens": 0,
            "generated_tokens": 0,
            "parse_errors": 0,
            "illegal_answers": 0,
            "proposals": 0,
            "seconds": 0.0,
        }

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        device: str = "auto",
        mode: str = "choice",
        temperature: float = 0.0,
        batch_size: int | None = None,
        chat: ChatFormat | None = None,
        **kwargs,
    ) -> LMPolicy:
        return cls(load_model(path, device, chat), mode, temperature, batch_size, **kwargs)

    def bind(self, model) -> None:
        self.rng = model.policy_stream()

    # Choice mode ------------------------------------------------------------------------

    def candidate_ids(self, action) -> list[int]:
        return self.text_ids(render_action(action))

    def text_ids(self, text: str) -> list[int]:
        """A candidate answer's tokens, end of turn included (cached by text)."""
        ids = self._cand_ids.get(text)
        if ids is None:
            tok = self.lm.tokenizer
            pre = self.lm.answer_pre  # what the template writes before an answer
            ids = [*tok(pre + text, add_special_tokens=False)["input_ids"], self.lm.eot_id]
            self._cand_ids[text] = ids
        return ids

    def decide(self, observations: list[Observation]) -> list[Decision]:
        start = time.perf_counter()
        if self.mode == "choice":
            out = self._choose_all(observations)
        else:
            out = self._generate(observations)
        wall = time.perf_counter() - start
        self.stats["seconds"] += wall
        self.stats["decisions"] += len(observations)
        for d in out:
            d.info["latency_s"] = wall / max(len(observations), 1)
        return out

    def _choose_all(self, observations: list[Observation]) -> list[Decision]:
        """Rows sorted by length fill batches of up to ``batch_size`` rows whose longest
        is at most ``length_ratio`` times the shortest (little padding); answers come
        back in input order."""
        m = self.lm
        rows = []
        for obs in observations:
            prompt = prompt_ids(m, obs)
            cands = [self.candidate_ids(c) for c in obs.candidates]
            rows.append((prompt, cands, candidate_tree(len(prompt), cands)))
        size = [len(p) + len(tree[0]) for p, _, tree in rows]
        order = sorted(range(len(rows)), key=lambda i: size[i])
        groups: list[list[int]] = []
        for i in order:
            last = groups[-1] if groups else None
            if (
                last is None
                or len(last) == self.batch_size
                or size[i] > self.length_ratio * size[last[0]]
            ):
                groups.append([])
            groups[-1].append(i)
        out: list[Decision | None] = [None] * len(rows)
        for idx in groups:
            got = self._choose([observations[i] for i in idx], [rows[i] for i in idx])
            for i, d in zip(idx, got, strict=True):
                out[i] = d
        return out  # type: ignore[return-value]

    def _choose(self, chunk: list[Observation], rows: list) -> list[Decision]:
        past = len(self.lm.prefix_ids)
        out = []
        for obs, (prompt, _, tree), s in zip(chunk, rows, self.score_rows(rows), strict=True):
            probs = np.exp(s - s.max())
            probs /= probs.sum()
            pick = self._pick(s)
            fed = len(tree[0])
            self.stats["prompt_tokens"] += len(prompt)
            self.stats["candidate_tokens"] += fed
            out.append(
                Decision(
                    obs.candidates[pick],
                    probs=tuple(float(x) for x in probs),
                    info={"prompt_tokens": len(prompt) + past, "candidate_tokens": fed},
                )
            )
        return out

    def rows_for(self, prompt: list[int], candidates: list[str]) -> tuple:
        """One row for :meth:`score_rows`: prompt tokens (after the shared system prefix)
        and candidate texts."""
        cands = [self.text_ids(text) for text in candidates]
        return prompt, cands, candidate_tree(len(prompt), cands)

    def score_rows(self, rows: list) -> list[np.ndarray]:
        """Each row's candidate scores (log-probabilities, length-normalised with
        ``score="mean"``), in one forward pass over the rows."""
        import torch

        m = self.lm
        n, past = len(rows), len(m.prefix_ids)
        width = max(len(p) + len(t[0]) for p, _, t in rows)
        ids = np.full((n, width), m.tokenizer.pad_token_id or 0, dtype=np.int64)
        pos = np.zeros((n, width), dtype=np.int64)
        # A prompt token sees the shared prefix and the prompt before it; a tree node
        # sees the prefix, the whole prompt, its ancestors and itself: each candidate
        # sees the prompt and its own earlier tokens, never another candidate's.
        allow = np.zeros((n, width, width), dtype=bool)
        gather: dict[tuple[int, int], int] = {}  # (row, column) -> output-layer row
        targets = []  # per row, per candidate: [(output-layer row, token id), ...]
        for r, (prompt, cands, (tokens, parent, depth, sources)) in enumerate(rows):
            p, k = len(prompt), len(tokens)
            ids[r, :p], ids[r, p : p + k] = prompt, tokens
            pos[r, :p] = np.arange(past, past + p)
            pos[r, p : p + k] = past + p + np.asarray(depth, dtype=np.int64)
            allow[r, :p, :p] = np.tri(p, dtype=bool)
            allow[r, p : p + k, :p] = True
            for i, up in enumerate(parent):
                if up >= 0:
                    allow[r, p + i, p : p + k] = allow[r, p + up, p : p + k]
                allow[r, p + i, p + i] = True
            targets.append(
                [
                    [
                        (gather.setdefault((r, col), len(gather)), t)
                        for col, t in zip(cols, c, strict=True)
                    ]
                    for cols, c in zip(sources, cands, strict=True)
                ]
            )
        mask = additive_mask(torch.from_numpy(allow), past, True, m.model.dtype)
        ids, pos = torch.from_numpy(ids), torch.from_numpy(pos)
        cache = shared_cache(m.prefix_kv, n)
        where = torch.tensor(list(gather))  # only these columns go through the output layer
        with torch.no_grad():
            decoder = m.model.get_decoder()
            hidden = decoder(
                input_ids=ids.to(m.device),
                position_ids=pos.to(m.device),
                attention_mask=mask.to(m.device),
                **{m.cache_kwarg: cache},
                use_cache=True,
            ).last_hidden_state
            picked = hidden[where[:, 0], where[:, 1]]
            logp = torch.log_softmax(m.model.get_output_embeddings()(picked).float(), dim=-1)
            logp = logp.cpu().numpy()
        self.stats["forward_passes"] += 1
        reduce = np.mean if self.score == "mean" else np.sum
        return [
            np.array([float(reduce([logp[g, t] for g, t in cand])) for cand in targets[r]])
            for r in range(n)
        ]

    # Group decisions ---------------------------------------------------------------------

    def propose(self, view: ProposalView, options: int) -> tuple[int, ...]:
        """One option per component, scored by the model (see the module docstring)."""
        user = render_proposal_user(view)
        token = special_token_of(self.lm.tokenizer, user)
        if token is not None:
            raise ValueError(f"agent {view.agent_id}'s proposal holds the special token {token!r}")
        prompt = user_prompt_ids(self.lm, user)
        base = list(view.first_choices)
        rows = []
        for k in range(view.components):
            answers = [render_proposal([*base[:k], o, *base[k + 1 :]]) for o in range(options)]
            rows.append(self.rows_for(prompt, answers))
        scores = self.score_rows(rows)
        self.stats["proposals"] += 1
        return tuple(self._pick(s) for s in scores)

    def _pick(self, scores: np.ndarray) -> int:
        """The best-scored index, or one drawn from ``softmax(scores / temperature)``
        (the policy's own stream) when the temperature is above 0."""
        if self.temperature > 0:
            w = np.exp((scores - scores.max()) / self.temperature)
            return int(self.rng.choice(len(scores), p=w / w.sum()))
        return int(np.argmax(scores))

    # Generate mode ----------------------------------------------------------------------

    def _generate(self, chunk: list[Observation]) -> list[Decision]:
        import torch
        from transformers import DynamicCache

        m = self.lm
        tok = m.tokenizer
        out = []
        for obs in chunk:  # one prompt at a time: no padding inside the generated text
            prompt = prompt_ids(m, obs)
            cache = DynamicCache(ddp_cache_data=list(m.prefix_kv))
            ids = torch.tensor([m.prefix_ids + prompt], device=m.device)
            with torch.no_grad():
                gen = m.model.generate(
                    ids,
                    **{m.cache_kwarg: cache},
                    max_new_tokens=self.max_new_tokens,
                    do_sample=self.temperature > 0,
                    temperature=self.temperature if self.temperature > 0 else None,
                    top_p=None,
                    top_k=None,
                    eos_token_id=m.eot_id,
                    pad_token_id=tok.pad_token_id,
                )
            new = gen[0, ids.shape[1] :].tolist()
            self.stats["forward_passes"] += len(new)
            self.stats["prompt_tokens"] += len(prompt)
            self.stats["generated_tokens"] += len(new)
            text = tok.decode(new, skip_special_tokens=True)
            info = {
                "prompt_tokens": len(prompt) + len(m.prefix_ids),
                "generated_tokens": len(new),
                "text": text,
            }
            try:
                action = parse_action(text, obs)
            except ActionParseError as exc:
                key = "illegal_answers" if exc.reason.startswith("not a legal") else "parse_errors"
                self.stats[key] += 1
                action = WAIT if WAIT in obs.candidates else obs.candidates[0]
                info["fallback"] = exc.reason
            out.append(Decision(action, info=info))
        return out

    @property
    def error_rate(self) -> float:
        bad = self.stats["parse_errors"] + self.stats["illegal_answers"]
        return bad / self.stats["decisions"] if self.stats["decisions"] else 0.0
