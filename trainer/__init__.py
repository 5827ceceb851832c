"""Fine-tuning: datasets (`data/`), validation (`validation/`), jobs (`jobs/`) and the `python -m trainer` CLI (`cli/`)."""
