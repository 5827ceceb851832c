"""Local models on held-out prompts: batched generation and one batched teacher-forced loss pass.

Generation pads on the left, so every prompt ends where its answer starts and a whole batch is
decoded at once (greedy, the same settings for base and tuned). The loss of a reference answer is
the mean cross-entropy of its tokens given the prompt, from one forward pass over the batch with
the prompt and padding positions masked out. Base and tuned share one loaded model and one batch:
peft's mixed-adapter batches (`adapter_names`, "__base__" = adapter off) answer the same prompts
with and without the adapter in the same `generate` call and the same forward pass, so on a CPU the
model's weights are read once per decoding step for both.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from trainer.evaluation.heldout import EvalExample

BATCH_SIZE = 16
BASE = "__base__"  # peft's name for "no adapter" in a mixed batch


def generate_answers(model: Any, tokenizer: Any, prompts: list[list[dict[str, str]]], max_new_tokens: int,
                     batch_size: int = BATCH_SIZE, adapter_names: list[str] | None = None) -> list[str]:
    """Greedy answers to every prompt, `batch_size` prompts per `generate` call (`adapter_names`: one per prompt)."""
    import torch

    texts = [tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False) for prompt in prompts]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    answers: list[str] = []
    try:
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=False).to(model.device)
            extra = {"adapter_names": adapter_names[start:start + batch_size]} if adapter_names else {}
            with torch.inference_mode():
                output = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad_id, **extra)
            new_tokens = output[:, batch["input_ids"].shape[1]:]
            answers.extend(text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
    return answers


def reference_losses(model: Any, tokenizer: Any, examples: list[EvalExample],
                     batch_size: int = BATCH_SIZE, adapter_names: list[str] | None = None) -> list[tuple[float, int]]:
    """(summed cross-entropy, token count) of each reference answer given its prompt, teacher-forced."""
    import torch

    rows = [_tokens(tokenizer, example) for example in examples]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[tuple[float, int]] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        labels = torch.full((len(chunk), width), -100, dtype=torch.long)
        for row, (ids, prompt_length) in enumerate(chunk):
            input_ids[row, :len(ids)] = torch.tensor(ids)
            mask[row, :len(ids)] = 1
            labels[row, prompt_length:len(ids)] = torch.tensor(ids[prompt_length:])
        extra = {"adapter_names": adapter_names[start:start + batch_size]} if adapter_names else {}
        with torch.inference_mode():
            logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device), **extra).logits.float()
        # Position t predicts token t+1.
        shifted = labels[:, 1:].to(logits.device)
        losses = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), shifted, ignore_index=-100, reduction="none")
        counted = shifted != -100
        for row in range(len(chunk)):
            out.append((float(losses[row][counted[row]].sum()), int(counted[row].sum())))
    return out


def _tokens(tokenizer: Any, example: EvalExample) -> tuple[list[int], int]:
    prompt = tokenizer.apply_chat_template(example.prompt, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(example.prompt + [{"role": "assistant", "content": example.reference}], tokenize=False)
    if not full.startswith(prompt):  # a template that rewrites earlier turns: fall back to prompt + answer
        full = prompt + example.reference + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    return full_ids, len(prompt_ids)


def answer_both(model: Any, tokenizer: Any, examples: list[EvalExample], max_new_tokens: int
                ) -> dict[str, tuple[list[str], list[tuple[float, int]]]]:
    """{"base": (answers, losses), "tuned": (...)}: both from the same batches where the model has an adapter."""
    prompts = [example.prompt for example in examples]
    n = len(examples)
    if not hasattr(model, "active_adapter"):  # no adapter: base and tuned are the same model
        answers, losses = generate_answers(model, tokenizer, prompts, max_new_tokens), reference_losses(model, tokenizer, examples)
        return {"base": (answers, losses), "tuned": (list(answers), list(losses))}
    names = [BASE] * n + [model.active_adapter] * n
    answers = generate_answers(model, tokenizer, prompts + prompts, max_new_tokens, batch_size=2 * BATCH_SIZE, adapter_names=names)
    losses = reference_losses(model, tokenizer, examples + examples, batch_size=2 * BATCH_SIZE, adapter_names=names)
    return {"base": (answers[:n], losses[:n]), "tuned": (answers[n:], losses[n:])}


def adapter_off(model: Any) -> Any:
    """A context in which a peft model answers as its base model (a plain model is its own base)."""
    return model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext()
