"""Fine-tune jobs: the store, start/cancel/resume, the worker and runners, LoRA training, the OpenAI backend, inference."""
