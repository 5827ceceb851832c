"""Evaluation of a fine-tune against its base model on held-out chat examples (see `run.evaluate_job`)."""
