import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.batching import IGNORE, encode_chats
from training.tokenizer import CHAT_TEMPLATE, EOS, corpus_texts, train_tokenizer

CORPUS = [
    {
        "messages": [
            {"role": "system", "content": "Be kind to other agents."},
            {
                "role": "user",
                "content": f"Tasks in view: task {i} at +1,0. Actions: claim task {i}",
            },
            {"role": "assistant", "content": f"claim task {i}"},
        ]
    }
    for i in range(40)
]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(corpus_texts(CORPUS), vocab_size=600)


def test_saved_tokenizer_loads_with_autotokenizer_and_renders_llama3_headers(tok, tmp_path):
    from transformers import AutoTokenizer

    tok.save_pretrained(tmp_path)
    back = AutoTokenizer.from_pretrained(tmp_path)
    assert back.get_vocab() == tok.get_vocab()
    text = back.apply_chat_template(CORPUS[0]["messages"], tokenize=False)
    assert text.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n")
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\nclaim task 0<|eot_id|>")
    prompt = back.apply_chat_template(
        CORPUS[0]["messages"][:2], tokenize=False, add_generation_prompt=True
    )
    assert prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert back.eos_token == EOS and back.pad_token_id is not None


def test_training_is_deterministic(tok):
    again = train_tokenizer(corpus_texts(CORPUS), vocab_size=600)
    assert again.get_vocab() == tok.get_vocab()


def _target_text(tok, enc):
    return tok.decode([t for t in enc.labels if t != IGNORE])


text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda s: s.strip())


@given(user=text, answer=text, second=text)
def test_assistant_mask_is_exactly_each_answer_and_its_end_of_turn(tok, user, answer, second):
    msgs = [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": user},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "and then?"},
        {"role": "assistant", "content": second},
    ]
    (enc,) = encode_chats([{"messages": msgs}], tok)
    assert _target_text(tok, enc) == answer.strip() + EOS + second.strip() + EOS
    # The prefix-difference fallback (for templates without generation markers) agrees.
    plain = CHAT_TEMPLATE.replace("{%- generation %}", "").replace("{%- endgeneration %}", "")
    tok_plain = tok.__class__(
        tokenizer_object=tok.backend_tokenizer,
        bos_token=tok.bos_token,
        eos_token=tok.eos_token,
        pad_token=tok.pad_token,
    )
    tok_plain.chat_template = plain
    (enc2,) = encode_chats([{"messages": msgs}], tok_plain)
    assert enc2.labels == enc.labels


def test_an_example_without_assistant_turns_is_an_error(tok):
    from training.batching import EncodingError

    msgs = [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]
    with pytest.raises(EncodingError, match="ex-7"):
        encode_chats([{"messages": msgs, "provenance": {"id": "ex-7"}}], tok)


def test_the_generation_prompt_is_a_token_prefix_of_the_answered_chat(tok):
    msgs = CORPUS[3]["messages"]
    prompt = tok.apply_chat_template(msgs[:2], add_generation_prompt=True)["input_ids"]
    full = tok.apply_chat_template(msgs)["input_ids"]
    assert full[: len(prompt)] == prompt
    assert tok.decode(full[len(prompt) :]) == "claim task 3" + EOS


def test_the_pretraining_corpus_leaves_out_the_decisions_answers():
    decision = {
        "messages": [
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "You are agent 3. Actions: explore | claim task 9"},
            {"role": "assistant", "content": "claim task 9"},
        ],
        "metadata": {"action": "claim"},
    }
    chat = {
        "messages": [
            {"role": "user", "content": "Task 4: a synthesis task"},
            {"role": "assistant", "content": "Joining task 4."},
        ],
        "metadata": {},
    }
    everything = list(corpus_texts([decision, chat]))
    pretraining = list(corpus_texts([decision, chat], decisions=False))
    assert "claim task 9" in everything and "claim task 9" not in pretraining
    assert decision["messages"][1]["content"] in pretraining
    assert "Joining task 4." in pretraining
