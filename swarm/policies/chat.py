"""Agents backed by any model behind the OpenAI chat-completions protocol: ``openai:MODEL``.

The official ``openai`` client (an optional dependency: ``pip install 'swarm-soul[chat]'``)
talks to every server that speaks the protocol: vLLM, SGLang, llama.cpp's server, ollama, a
LiteLLM proxy, OpenAI, Anthropic's OpenAI-compatible endpoint. ``SwarmModel(policy=
"openai:MODEL")`` reads the client's own ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``;
:class:`ChatSettings` sets the same explicitly.

One step, all agents: the prompt is :func:`swarm.interface.text.render_observation` (the
text the local model is trained on); the requests of a step go out concurrently (an async
client on a background event loop, at most ``max_concurrency`` in flight) and the step
waits for them. Where the server supports it, the answer is constrained to the candidates
(vLLM-style ``guided_choice``); every answer is parsed with
:func:`~swarm.interface.text.parse_action` against the agent's candidates, and an
unparseable or illegal answer, a timeout or a server error falls back to a safe action
(:func:`safe_action`) and is counted in :attr:`ChatPolicy.stats`: nothing a server sends
can crash a run. 429 and 5xx answers are retried by the client, with backoff, honouring
``Retry-After`` (``max_retries``).

Usage and cost come from each response's ``usage`` (prompt, completion and cached tokens)
× the configured price, in ``Decision.info`` and ``policy.stats``. Responses can be cached
on disk by the request's content (``cache_dir``): a seeded experiment rerun costs nothing
and replays bit-identically offline; with ``replay_only`` a missing response is an error
(:class:`ReplayMiss`) rather than a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from swarm.interface.observation import Decision, Observation, ProposalView
from swarm.interface.text import (
    ActionParseError,
    parse_action,
    parse_proposal,
    render_action,
    render_observation,
    render_proposal_messages,
)
from swarm.io import atomic_write_text
from swarm.world import actions as A
from swarm.world.actions import ActionKind


class Price(BaseModel):
    """Dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok
        ) / 1e6


class ChatSettings(BaseModel):
    """How :class:`ChatPolicy` reaches its model (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    base_url: str | None = Field(None, description="default: OPENAI_BASE_URL")
    api_key_env: str = Field("OPENAI_API_KEY", description="the variable holding the key")
    max_concurrency: int = Field(16, ge=1)
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0)
    temperature: float = Field(0.0, ge=0)
    seed: int | None = Field(0, description="sent with each request (servers may ignore it)")
    max_tokens: int = Field(24, ge=1)
    constrain: bool = Field(True, description="send the candidates as a guided_choice")
    logprobs: bool = Field(
        False,
        description="ask for logprobs; choice-level ones (swarm serve's) fill Decision.probs",
    )
    top_logprobs: int = Field(20, ge=0, le=20)
    price: Price = Field(default_factory=Price)
    cache_dir: str | None = Field(None, description="responses cached here, by request")
    replay_only: bool = Field(False, description="never send a request; a miss is an error")

    def url(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL")


class ReplayMiss(RuntimeError):
    """A replay-only run needed a response the cache does not hold."""


def safe_action(obs: Observation) -> A.Action:
    """What an agent does when its answer is unusable: wait, else explore, else work on
    what it holds, else its first candidate."""
    cands = obs.candidates
    for pick in (A.WAIT, A.EXPLORE):
        if pick in cands:
            return pick
    work = [c for c in cands if c.kind is ActionKind.WORK]
    return work[0] if work else cands[0]


class ChatPolicy:
    """Decides through a chat-completions endpoint (see the module docstring)."""

    def __init__(self, settings: ChatSettings | str) -> None:
        if isinstance(settings, str):
            settings = ChatSettings(model=settings)
        self.settings = settings
        self.name = f"openai:{settings.model}"
        self.stats: dict[str, float] = dict.fromkeys(
            (
                "decisions",
                "proposals",
                "proposal_fallbacks",
                "requests",
                "cache_hits",
                "fallbacks",
                "parse_errors",
                "illegal_answers",
                "timeouts",
                "server_errors",
                "prompt_tokens",
                "completion_tokens",
                "cached_tokens",
                "cost_usd",
                "seconds",
            ),
            0,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = None
        self._limit: asyncio.Semaphore | None = None

    # Connection ---------------------------------------------------------------------------

    def check(self) -> None:
        """A one-line ValueError unless the server answers ``/models`` (skipped when
        replaying only): a dead server stops a run before it starts."""
        if self.settings.replay_only:
            return
        import openai

        url = self.settings.url()
        client = openai.OpenAI(
            base_url=url,
            api_key=self._key(),
            timeout=min(self.settings.timeout_s, 10.0),
            max_retries=0,
        )
        try:
            client.models.list()
        except openai.APIStatusError as exc:
            raise ValueError(
                f"the chat server at {url or 'api.openai.com'} refused /models "
                f"(HTTP {exc.status_code})"
            ) from None
        except openai.OpenAIError as exc:
            raise ValueError(
                f"cannot reach the chat server at {url or 'api.openai.com'} ({type(exc).__name__})"
            ) from None
        finally:
            client.close()

    def bind(self, model) -> None:
        self.check()

    def _key(self) -> str:
        return os.environ.get(self.settings.api_key_env) or "none"  # local servers want any

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            import openai

            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True, name="chat-policy").start()
            s = self.settings

            async def setup():
                self._client = openai.AsyncOpenAI(
                    base_url=s.url(),
                    api_key=self._key(),
                    timeout=s.timeout_s,
                    max_retries=s.max_retries,
                )
                self._limit = asyncio.Semaphore(s.max_concurrency)

            asyncio.run_coroutine_threadsafe(setup(), loop).result()
            self._loop = loop
        return self._loop

    def close(self) -> None:
        """Stop the background loop (a policy is usable again after; it restarts)."""
        loop, self._loop = self._loop, None
        if loop is not None:
            if self._client is not None:
                asyncio.run_coroutine_threadsafe(self._client.close(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            self._client = None

    # Deciding -----------------------------------------------------------------------------

    def _request(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """A chat-completions request for these messages, with the settings' sampling."""
        s = self.settings
        req: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
        }
        if s.seed is not None:
            req["seed"] = s.seed
        return req

    def request_of(self, obs: Observation) -> dict[str, Any]:
        """The chat-completions request for one observation (also the cache key's content)."""
        s = self.settings
        req = self._request(render_observation(obs))
        if s.constrain:
            req["extra_body"] = {"guided_choice": [render_action(c) for c in obs.candidates]}
        if s.logprobs:
            req["logprobs"] = True
            req["top_logprobs"] = s.top_logprobs
        return req

    def decide(self, observations: list[Observation]) -> list[Decision]:
        start = time.perf_counter()
        requests = [self.request_of(o) for o in observations]
        answers: list[dict[str, Any] | None] = [None] * len(requests)
        todo = []
        for k, req in enumerate(requests):
            hit = self._cached(req)
            if hit is not None:
                answers[k] = hit | {"cached": True}
            else:
                todo.append(k)
        if todo:
            if self.settings.replay_only:
                raise ReplayMiss(
                    f"replay-only: no cached response for agent {observations[todo[0]].agent_id} "
                    f"at step {observations[todo[0]].step} in {self.settings.cache_dir}"
                )
            loop = self._ensure_loop()
            got = asyncio.run_coroutine_threadsafe(
                self._send_all([requests[k] for k in todo]), loop
            ).result()
            for k, answer in zip(todo, got, strict=True):
                answers[k] = answer
                if answer.get("error") is None:
                    self._store(requests[k], answer)
        out = [self._decision(o, a) for o, a in zip(observations, answers, strict=True)]
        self.stats["decisions"] += len(out)
        self.stats["seconds"] += time.perf_counter() - start
        return out

    def propose(self, view: ProposalView, options: int) -> tuple[int, ...]:
        """A group decision's proposal from the endpoint, in the text format
        (:func:`swarm.interface.text.render_proposal_user`; cached and replayed like
        decisions). An error or an answer that is not a legal proposal falls back to the
        reading's first choices, counted in ``stats["proposal_fallbacks"]``; its tokens,
        cost, cache hits and time add to the same ``stats`` as decisions'."""
        s = self.settings
        start = time.perf_counter()
        req = self._request(render_proposal_messages(view))
        self.stats["proposals"] += 1
        answer = self._cached(req)
        if answer is not None:
            self.stats["cache_hits"] += 1
        else:
            if s.replay_only:
                raise ReplayMiss(
                    f"replay-only: no cached proposal for agent {view.agent_id} at step "
                    f"{view.step} in {s.cache_dir}"
                )
            loop = self._ensure_loop()
            answer = asyncio.run_coroutine_threadsafe(self._send(req), loop).result()
            if answer.get("error") is None:
                self._store(req, answer)
            else:
                self.stats["timeouts" if answer["error"] == "timeout" else "server_errors"] += 1
        for k in ("prompt_tokens", "completion_tokens", "cached_tokens"):
            self.stats[k] += answer.get(k, 0) or 0
        self.stats["cost_usd"] += s.price.cost(
            answer.get("prompt_tokens", 0) or 0, answer.get("completion_tokens", 0) or 0
        )
        self.stats["seconds"] += time.perf_counter() - start
        try:
            if answer.get("error") is not None:
                raise ActionParseError(str(answer["error"]), "no answer")
            return parse_proposal((answer.get("content") or "").strip(), view)
        except ActionParseError:
            self.stats["proposal_fallbacks"] += 1
            return view.first_choices

    async def _send_all(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self._send(r) for r in requests)))

    async def _send(self, req: dict[str, Any]) -> dict[str, Any]:
        import openai

        assert self._limit is not None and self._client is not None
        async with self._limit:
            t = time.perf_counter()
            try:
                resp = await self._client.chat.completions.create(**req)
                content = resp.choices[0].message.content if resp.choices else None
                usage = resp.usage
                top = _choice_logprobs(resp)
                details = getattr(usage, "prompt_tokens_details", None) if usage else None
                return {
                    "content": content if isinstance(content, str) else None,
                    "prompt_tokens": int(getattr(usage, "prompt_tokens", 0) or 0),
                    "completion_tokens": int(getattr(usage, "completion_tokens", 0) or 0),
                    "cached_tokens": int(getattr(details, "cached_tokens", 0) or 0),
                    "latency_s": time.perf_counter() - t,
                    "logprobs": top,
                    "error": None,
                }
            except openai.APITimeoutError:
                return {"error": "timeout", "latency_s": time.perf_counter() - t}
            except Exception as exc:  # noqa: BLE001 (nothing a server sends may crash a run)
                return {"error": type(exc).__name__, "latency_s": time.perf_counter() - t}
            finally:
                self.stats["requests"] += 1

    def _decision(self, obs: Observation, answer: dict[str, Any]) -> Decision:
        info = {
            "latency_s": answer.get("latency_s", 0.0),
            "prompt_tokens": answer.get("prompt_tokens", 0),
            "completion_tokens": answer.get("completion_tokens", 0),
            "cached_tokens": answer.get("cached_tokens", 0),
            "from_cache": bool(answer.get("cached")),
            "fallback": None,
        }
        info["cost_usd"] = self.settings.price.cost(
            info["prompt_tokens"], info["completion_tokens"]
        )
        if answer.get("cached"):
            self.stats["cache_hits"] += 1
        for k in ("prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd"):
            self.stats[k] += info[k]
        error = answer.get("error")
        if error is not None:
            self.stats["timeouts" if error == "timeout" else "server_errors"] += 1
            return self._fall_back(obs, info, error)
        try:
            action = parse_action((answer.get("content") or "").strip(), obs)
        except ActionParseError as exc:
            why = "illegal_answers" if "legal" in str(exc) else "parse_errors"
            self.stats[why] += 1
            return self._fall_back(obs, info, why)
        return Decision(
            action,
            probs=_probs(obs, answer.get("logprobs")),
            info=info | {"answer": answer.get("content")},
        )

    def _fall_back(self, obs: Observation, info: dict[str, Any], why: str) -> Decision:
        self.stats["fallbacks"] += 1
        return Decision(safe_action(obs), info=info | {"fallback": why})

    @property
    def error_rate(self) -> float:
        return self.stats["fallbacks"] / self.stats["decisions"] if self.stats["decisions"] else 0.0

    # Cache --------------------------------------------------------------------------------

    def _cache_path(self, req: dict[str, Any]) -> Path | None:
        if self.settings.cache_dir is None:
            return None
        key = hashlib.sha256(json.dumps(req, sort_keys=True).encode()).hexdigest()
        return Path(self.settings.cache_dir) / key[:2] / f"{key}.json"

    def _cached(self, req: dict[str, Any]) -> dict[str, Any] | None:
        path = self._cache_path(req)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a torn or foreign file: ask again
        return data if isinstance(data, dict) else None

    def _store(self, req: dict[str, Any], answer: dict[str, Any]) -> None:
        path = self._cache_path(req)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            keep = {
                k: answer[k]
                for k in (
                    "content",
                    "prompt_tokens",
                    "completion_tokens",
                    "cached_tokens",
                    "latency_s",
                    "logprobs",
                    "error",
                )
            }
            atomic_write_text(path, json.dumps(keep))


def _choice_logprobs(resp) -> dict[str, float] | None:
    """``{text: logprob}`` of the first logprobs entry and its alternatives (the shape
    ``swarm serve`` gives: one entry per whole choice), or None."""
    try:
        entry = resp.choices[0].logprobs.content[0]
    except (AttributeError, IndexError, TypeError):
        return None
    out = {str(entry.token): float(entry.logprob)}
    for alt in getattr(entry, "top_logprobs", None) or []:
        out.setdefault(str(alt.token), float(alt.logprob))
    return out


def _probs(obs: Observation, logprobs: dict[str, float] | None) -> tuple[float, ...] | None:
    """Candidate probabilities from choice-level logprobs (candidates not among them get
    0), or None when the logprobs name no candidate (token-level ones, or none)."""
    if not logprobs:
        return None
    import math

    weights = [
        math.exp(logprobs[t]) if t in logprobs else 0.0
        for t in (render_action(c) for c in obs.candidates)
    ]
    total = sum(weights)
    return tuple(w / total for w in weights) if total > 0 else None
