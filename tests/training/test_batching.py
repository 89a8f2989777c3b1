import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.batching import (
    IGNORE,
    Encoded,
    collate,
    cut_prefix,
    pack_rows,
    plan_epoch,
    shared_prefix,
)


@given(
    lengths=st.lists(st.integers(1, 64), min_size=1, max_size=200),
    max_len=st.integers(64, 256),
    seed=st.integers(0, 5),
)
def test_packing_places_every_example_once_within_the_row_length(lengths, max_len, seed):
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(lengths))
    rows = pack_rows(lengths, order, max_len)
    placed = sorted(i for row in rows for i in row)
    assert placed == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= max_len for row in rows)


def test_epoch_plans_are_seeded():
    lengths = [5, 9, 3, 12, 7, 1, 8] * 5
    a = plan_epoch(lengths, 2, 32, seed=3, epoch=1, packing=True)
    assert a == plan_epoch(lengths, 2, 32, seed=3, epoch=1, packing=True)
    assert a != plan_epoch(lengths, 2, 32, seed=3, epoch=2, packing=True)


@pytest.fixture(scope="module")
def model():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    return LlamaForCausalLM(cfg).eval()


def test_packed_examples_do_not_see_each_other(model):
    """A packed row's logits, example by example, equal each example's logits alone."""
    import torch

    data = [Encoded(list(range(1, 1 + n)), [IGNORE] * (n - 2) + [7, 8]) for n in (5, 11, 7)]
    inputs, tokens = collate([[0, 1, 2]], data, pad_id=0, packing=True)
    assert tokens == 23 and "attention_mask" not in inputs
    with torch.no_grad():
        packed = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False).logits
        at = 0
        for ex in data:
            alone = model(input_ids=torch.tensor([ex.input_ids])).logits
            torch.testing.assert_close(packed[0, at : at + len(ex)], alone[0], atol=1e-5, rtol=0)
            at += len(ex)


def test_padded_batches_mask_padding_and_count_real_tokens(model):
    import torch

    data = [Encoded([1, 2, 3], [IGNORE, 2, 3]), Encoded([4, 5, 6, 7, 8], [IGNORE] * 4 + [8])]
    inputs, tokens = collate([[0], [1]], data, pad_id=0, packing=False)
    assert tokens == 8
    assert inputs["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert inputs["labels"][0, 3:].tolist() == [IGNORE, IGNORE]
    with torch.no_grad():
        padded = model(**{k: v for k, v in inputs.items() if k != "labels"}).logits
        alone = model(input_ids=torch.tensor([data[0].input_ids])).logits
    torch.testing.assert_close(padded[0, :3], alone[0], atol=1e-5, rtol=0)


@settings(max_examples=8)
@given(
    sizes=st.lists(st.integers(3, 9), min_size=2, max_size=6),
    shared=st.lists(st.booleans(), min_size=6, max_size=6),
    seed=st.integers(0, 100),
)
def test_a_shared_prefix_gives_the_same_loss_and_gradients(model, sizes, shared, seed):
    """Cutting the common system turn off and computing it once per batch (as the
    trainer does) is the same function as packing the whole examples."""
    import numpy as np
    import torch

    from swarm.policies.lm import cache_argument, kv_of, shared_cache

    rng = np.random.default_rng(seed)
    prefix = [int(t) for t in rng.integers(1, 50, 7)]
    data = []
    for k, n in enumerate(sizes):
        body = [int(t) for t in rng.integers(1, 50, n)]
        ids = (prefix if shared[k] else []) + body
        labels = [IGNORE] * (len(ids) - 2) + ids[-2:]
        data.append(Encoded(ids, labels))
    batch = [list(range(0, len(data), 2)), list(range(1, len(data), 2))]
    model.zero_grad()

    plain, _ = collate(batch, data, pad_id=0, packing=True)
    cut = cut_prefix(data, prefix)
    assert [e.shared for e in cut] == [bool(s) for s in shared[: len(data)]]
    ref_loss = model(**plain, use_cache=False).loss
    ref_loss.backward()
    ref = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()

    inputs, tokens = collate(batch, cut, pad_id=0, packing=True, prefix_len=len(prefix))
    assert tokens == sum(len(e) for e in cut)
    kv = kv_of(model(input_ids=torch.tensor([prefix]), use_cache=True))
    cache = shared_cache(kv, len(batch))
    loss = model(**inputs, **{cache_argument(model): cache}, use_cache=False).loss
    loss.backward()
    assert torch.allclose(loss, ref_loss, atol=1e-5)
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, ref[n], atol=1e-5), n


def test_shared_prefix_is_the_majority_system_turn():
    from transformers import PreTrainedTokenizerFast

    from training.tokenizer import train_tokenizer

    tok = train_tokenizer(["rules of the swarm", "hello there", "a b c"], 300)
    assert isinstance(tok, PreTrainedTokenizerFast)
    sys_a = {"role": "system", "content": "rules of the swarm"}
    ex = [
        {"messages": [sys_a, {"role": "user", "content": "hello"}]},
        {"messages": [sys_a, {"role": "user", "content": "there"}]},
        {"messages": [{"role": "user", "content": "a b c"}]},
    ]
    # The system turn and the user turn's header: the start every such prompt shares.
    want = tok.apply_chat_template([sys_a], tokenize=True, return_dict=False)
    header = tok("<|start_header_id|>user<|end_header_id|>\n\n", add_special_tokens=False)
    got = shared_prefix(ex, tok)
    assert got == [*want, *header["input_ids"]]
    for e in ex[:2]:  # each example's tokens start with it
        ids = tok.apply_chat_template(e["messages"], tokenize=True, return_dict=False)
        assert list(ids[: len(got)]) == got
    assert shared_prefix(ex[2:], tok) == []
