"""The fast CPU training path computes the same loss as the plain one, on the real SmolLM2 and a real packed batch.

The batch comes from the job's own trainer (`build_trainer`: TRL's best-fit packing and padding-free collator),
so it holds several limerick examples in one row with their boundaries. Three shortcuts are checked against
the plain computation: one causal attention per example (`packed_sdpa`) instead of one over the whole row, the
LM head applied only where a label counts, and bf16 autocast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from core.settings import Settings
from trainer.jobs.config import TrainConfig
from trainer.jobs.lora import CompletionHeadSFTTrainer, build_trainer, completion_positions, pick_precision
from trainer.jobs.packed_attention import PACKED_SDPA

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory, course_dir: Path, model_cache: Path) -> dict[str, Any]:
    source = course_dir / "18-fine-tuning" / "python" / "openai" / "training-data.jsonl"
    folder = tmp_path_factory.mktemp("packed")
    train = folder / "limericks.jsonl"
    train.write_text("\n".join(line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()) + "\n")
    settings = Settings(data_dir=folder / "data", model_cache=model_cache)
    config = TrainConfig(train_file=train, base_model=settings.local_model, preset="quick", epochs=1, batch_size=4,
                         precision="fp32")
    trainer = build_trainer(config, settings.models_dir, folder / "out")
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    model = trainer.model
    model.eval()  # no dropout: the paths must agree exactly, not in expectation
    return {"trainer": trainer, "model": model, "batch": batch}


def fast_loss(packed: dict[str, Any], batch: dict[str, Any] | None = None) -> torch.Tensor:
    batch = batch or packed["batch"]
    count = int(completion_positions(batch["labels"]).sum())
    return packed["trainer"].compute_loss(packed["model"], dict(batch), num_items_in_batch=count)


def test_the_job_trains_on_packed_rows_with_per_example_attention(packed: dict[str, Any]) -> None:
    batch = packed["batch"]
    assert packed["model"].config._attn_implementation == PACKED_SDPA
    assert isinstance(packed["trainer"], CompletionHeadSFTTrainer)
    assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch  # one padding-free row
    assert len(batch["cu_seq_lens_q"]) - 1 >= 3  # several examples share it
    assert (batch["position_ids"][0, batch["cu_seq_lens_q"][:-1]] == 0).all()  # positions restart at each example


def test_packed_examples_do_not_attend_to_each_other(packed: dict[str, Any]) -> None:
    """The packed row's loss equals the examples run one by one (summed over their completion tokens)."""
    batch, model = packed["batch"], packed["model"]
    bounds = batch["cu_seq_lens_q"].tolist()
    total, tokens = torch.zeros(()), 0
    with torch.no_grad():
        for start, end in zip(bounds, bounds[1:]):
            labels = batch["labels"][:, start:end]
            count = int((labels[:, 1:] != -100).sum())
            output = model(input_ids=batch["input_ids"][:, start:end], labels=labels, use_cache=False)
            total, tokens = total + output.loss * count, tokens + count
        separate = total / tokens
        packed_loss = fast_loss(packed)
        # The same row with positions running on and no boundaries: every example sees the ones before it.
        leaky = {key: batch[key] for key in ("input_ids", "labels")}
        leaky["position_ids"] = torch.arange(batch["input_ids"].shape[1])[None]
        leaked = fast_loss(packed, leaky)
    assert packed_loss.item() == pytest.approx(separate.item(), rel=1e-4)
    assert abs(leaked.item() - separate.item()) > 1e-2, "the check cannot tell leaking attention apart"


def test_lm_head_at_label_positions_gives_the_full_logits_loss_and_gradients(packed: dict[str, Any]) -> None:
    batch, model = packed["batch"], packed["model"]
    count = int(completion_positions(batch["labels"]).sum())
    lora = [parameter for name, parameter in model.named_parameters() if parameter.requires_grad]

    def loss_and_grads(compute) -> tuple[float, list[torch.Tensor]]:
        model.zero_grad()
        loss = compute()
        loss.backward()
        return loss.item(), [parameter.grad.detach().clone() for parameter in lora]

    fast, fast_grads = loss_and_grads(lambda: fast_loss(packed))
    full, full_grads = loss_and_grads(
        lambda: model(**{**batch, "use_cache": False}, num_items_in_batch=count).loss  # logits at every position
    )
    model.zero_grad()
    assert fast == pytest.approx(full, rel=1e-5)
    assert 0.5 < full < 10  # a real language-model loss, not a degenerate zero
    for mine, theirs in zip(fast_grads, full_grads):
        torch.testing.assert_close(mine, theirs, rtol=1e-3, atol=1e-6)


def test_bf16_autocast_loss_matches_fp32_on_the_same_batch(packed: dict[str, Any]) -> None:
    with torch.no_grad():
        fp32 = fast_loss(packed).item()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = fast_loss(packed).item()
    assert bf16 == pytest.approx(fp32, rel=2e-2)
    assert bf16 != fp32  # autocast really ran the matmuls in bf16


def test_precision_choice() -> None:
    assert pick_precision("cpu", "fp32")["bf16"] is False
    assert pick_precision("cpu", "bf16") == {"bf16": True, "fp16": False, "dtype": torch.float32}  # fp32 master weights
    assert pick_precision("mps", "auto")["bf16"] is False
