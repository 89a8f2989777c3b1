"""``swarm serve``: a model or adapter directory behind the OpenAI chat-completions
protocol (FastAPI + uvicorn), so a model fine-tuned here can drive agents anywhere.

Endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions``. A request whose body
carries ``guided_choice`` (a list of answers, the request shape vLLM accepts; the
``openai`` client sends it through ``extra_body``) is answered with the most likely
choice, each scored as the continuation of the prompt exactly as ``lm:PATH`` scores
candidates (:meth:`swarm.policies.lm.LMPolicy.score_rows`); concurrent requests are
gathered into one batched forward pass (up to ``batch_size`` rows, waiting at most
``wait_ms`` for company). With ``logprobs``, ``choices[0].logprobs.content`` holds one
entry for the whole chosen answer (its log-probability) and, with ``top_logprobs``, the
best other choices: choice-level, not token-level, log-probabilities. Without
``guided_choice`` the answer is generated greedily (``max_tokens``, default 24).
``usage`` counts the prompt's tokens (the shared system prompt included) and the
answer's.

The model was trained on one system prompt (the constitution), which it holds
pre-computed: a request's first message must be that system prompt, and its second the
user turn (:func:`swarm.interface.text.render_observation` writes both); anything else is
a 400 naming the problem. The server listens on 127.0.0.1 unless told otherwise; with an
API key, requests need ``Authorization: Bearer KEY``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str


class ChatRequest(BaseModel):
    """The fields of a chat-completions request this server reads (others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[Message] = Field(min_length=1)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    seed: int | None = None
    guided_choice: list[str] | None = Field(None, min_length=1)


class Batcher:
    """Gathers concurrent scoring requests into batches for one forward pass each."""

    def __init__(self, policy, batch_size: int, wait_ms: float) -> None:
        self.policy = policy
        self.batch_size = batch_size
        self.wait_s = wait_ms / 1000
        self.queue: asyncio.Queue | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarm-serve")
        self.batches = 0
        self.rows = 0

    async def score(self, row) -> np.ndarray:
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._worker())
        fut = asyncio.get_running_loop().create_future()
        await self.queue.put((row, fut))
        return await fut

    async def _worker(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.wait_s
            while len(batch) < self.batch_size:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            rows = [r for r, _ in batch]
            try:
                scores = await loop.run_in_executor(self.pool, self.policy.score_rows, rows)
            except Exception as exc:  # noqa: BLE001 (each waiting request gets the error)
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.batches += 1
            self.rows += len(rows)
            for (_, fut), s in zip(batch, scores, strict=True):
                if not fut.done():
                    fut.set_result(s)


def make_app(
    path: str | Path,
    *,
    api_key: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    wait_ms: float = 5.0,
    name: str | None = None,
):
    """The FastAPI app serving the model or adapter at ``path`` (module docstring)."""
    from fastapi import FastAPI, Header, HTTPException

    from swarm.interface.constitution import constitution_text
    from swarm.policies.lm import LMPolicy, special_token_of, user_prompt_ids

    policy = LMPolicy.from_pretrained(path, device=device, batch_size=batch_size)
    lm = policy.lm
    model_id = name or Path(path).name
    batcher = Batcher(policy, policy.batch_size, wait_ms)
    system = constitution_text()
    app = FastAPI(title="swarm serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher

    def authorise(authorization: str | None) -> None:
        if api_key is not None and authorization != f"Bearer {api_key}":
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer KEY)")

    @app.get("/v1/models")
    async def models(authorization: str | None = Header(None)):
        authorise(authorization)
        return {
            "object": "list",
            "data": [{"id": model_id, "object": "model", "owned_by": "swarm"}],
        }

    def prompt_of(req: ChatRequest) -> list[int]:
        roles = [m.role for m in req.messages]
        if roles != ["system", "user"] or req.messages[0].content != system:
            raise HTTPException(
                400,
                "messages must be the constitution as the system message, then one user "
                "message (swarm.interface.text.render_observation)",
            )
        user = req.messages[1].content
        token = special_token_of(lm.tokenizer, user)
        if token is not None:
            raise HTTPException(400, f"the user message holds the special token {token!r}")
        return user_prompt_ids(lm, user)

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest, authorization: str | None = Header(None)):
        authorise(authorization)
        prompt = prompt_of(req)
        start = time.perf_counter()
        logprobs = None
        if req.guided_choice is not None:
            row = policy.rows_for(prompt, req.guided_choice)
            scores = await batcher.score(row)
            if req.temperature > 0:
                rng = np.random.default_rng(req.seed)
                w = np.exp((scores - scores.max()) / req.temperature)
                pick = int(rng.choice(len(scores), p=w / w.sum()))
            else:
                pick = int(np.argmax(scores))
            answer = req.guided_choice[pick]
            completion = len(row[1][pick])
            if req.logprobs:
                order = np.argsort(-scores)[: req.top_logprobs or 0]
                logprobs = {
                    "content": [
                        {
                            "token": answer,
                            "logprob": float(scores[pick]),
                            "top_logprobs": [
                                {"token": req.guided_choice[k], "logprob": float(scores[k])}
                                for k in order
                            ],
                        }
                    ]
                }
        else:
            answer, completion = await asyncio.get_running_loop().run_in_executor(
                batcher.pool, _generate, lm, prompt, req.max_tokens or 24
            )
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_id,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "logprobs": logprobs,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": len(lm.prefix_ids) + len(prompt),
                "completion_tokens": completion,
                "total_tokens": len(lm.prefix_ids) + len(prompt) + completion,
            },
            "swarm": {"seconds": time.perf_counter() - start},
        }

    return app


def _generate(lm, prompt: list[int], max_tokens: int) -> tuple[str, int]:
    """A greedy answer to the shared prefix + ``prompt``; (text, tokens generated)."""
    import torch

    ids = torch.tensor([[*lm.prefix_ids, *prompt]], device=lm.device)
    with torch.no_grad():
        out = lm.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_tokens,
            do_sample=False,
            eos_token_id=lm.eot_id,
            pad_token_id=lm.tokenizer.pad_token_id or lm.eot_id,
        )
    new = out[0, ids.shape[1] :].tolist()
    if lm.eot_id in new:
        new = new[: new.index(lm.eot_id)]
    return lm.tokenizer.decode(new, skip_special_tokens=True).strip(), len(new)


def serve(
    path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    device: str = "auto",
) -> None:
    """Serve the model at ``path`` until interrupted."""
    import uvicorn

    app = make_app(path, api_key=api_key, device=device)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@contextmanager
def running(app, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 30.0):
    """Serve ``app`` with uvicorn in a daemon thread (``port`` 0: a free one) while the
    block runs; yields the base URL (``http://HOST:PORT/v1``). For tests and benchmarks."""
    import socket
    import threading

    import uvicorn

    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True, name="swarm-serve-http")
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
