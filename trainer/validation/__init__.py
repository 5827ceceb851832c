"""Validation of chat fine-tuning data: the notebook rules and API checks, the fast path, the streaming report."""
