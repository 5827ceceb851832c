"""The bottom package: settings, LLM backends and the writer, OpenAI API helpers, device and model loading.

It imports no other package of the project; every other part may use it.
"""
