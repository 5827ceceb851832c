"""Training data: chat examples, reading and converting records, the per-learner dataset store, drafts, tokens, prices."""
