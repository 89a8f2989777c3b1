import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.batching import IGNORE, Encoded, collate, pack_rows, plan_epoch


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
