"""A loopback OpenAI-compatible server for the chat policy's tests (FastAPI + uvicorn).

Its ``mode`` decides how it answers ``/v1/chat/completions``:

* ``first``: the first of the request's ``guided_choice`` (a well-behaved constrained
  server; a group decision's proposal request is answered with the example it gives);
  ``usage`` from the prompt's and the answer's lengths;
* ``greedy``: the first choice that works, claims, joins or approaches a task, else
  ``explore`` (an agent that gets work done);
* ``illegal``: an action that is never legal (``claim task 999999``);
* ``garbage``: a body that is not JSON;
* ``storm``: HTTP 429 with ``Retry-After: 0`` for the first ``storm`` requests, then ``first``;
* ``slow``: sleeps ``delay`` seconds first;
* ``error``: HTTP 500 always.

The server listens on 127.0.0.1 on a free port, in a daemon thread, and stops when the
``with`` block ends (tests bound it in time).
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from swarm.apps.serve import running


def make_app(state: dict) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": "test-model", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        state["requests"] += 1
        mode = state["mode"]
        if mode == "storm" and state["requests"] <= state["storm"]:
            return JSONResponse({"error": "slow down"}, 429, headers={"Retry-After": "0"})
        if mode == "error":
            return JSONResponse({"error": "boom"}, 500)
        if mode == "garbage":
            return PlainTextResponse("{not json", 200, media_type="application/json")
        if mode == "slow":
            await asyncio.sleep(state["delay"])
        user = body["messages"][-1]["content"]
        example = user.rsplit("e.g. ", 1)[-1] if "e.g. propose" in user else "wait"
        choices = (body.get("guided_choice") or [example]) if mode != "illegal" else None
        answer = choices[0] if choices else "claim task 999999"
        if mode == "greedy":
            for prefix in ("work", "claim", "join", "approach", "explore"):
                answer = next((c for c in choices if c.startswith(prefix)), None)
                if answer:
                    break
            answer = answer or choices[0]
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        return {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": len(answer) // 4 + 1,
                "total_tokens": prompt + len(answer) // 4 + 1,
            },
        }

    return app


@contextmanager
def chat_server(mode: str = "first", storm: int = 0, delay: float = 0.0):
    """Yields ``(base_url, state)``; ``state["requests"]`` counts the requests served."""
    state = {"mode": mode, "storm": storm, "delay": delay, "requests": 0}
    with running(make_app(state), timeout_s=10) as url:
        yield url, state
