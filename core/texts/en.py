"""English: every text a learner reads, by key (the reference catalogue; other languages fall back to it)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # -- the chat: system prompt, short replies, tool steps ------------------------------------------------
    "chat.system_prompt": """You are finetune-tutor, a patient tutor who teaches people how to fine-tune large language models and then does it with them.

How you work:
- Lesson questions: always call `search_lesson` first and answer ONLY from the sections it returns. Cite every section you use as
  *heading* (`source`). If the result says the lesson does not cover the question, say so plainly and name what the lesson does cover; never answer from memory.
- Training data: use the dataset tools to draft, add, edit, remove, validate, estimate cost and export examples. Show drafts before adding them.
- Fine-tune jobs: use the job tools to start, watch, cancel and compare. Report progress in plain words (status, step, latest loss).
- Keep answers short and concrete. Reply in English.""",
    "chat.help": """Hi! I'm finetune-tutor. I can:
1. **Answer lesson questions** about fine-tuning LLMs, citing the section. Try *"When should I fine-tune instead of using RAG?"*
2. **Build a training dataset with you**: *"help me make examples for a limerick bot about chemical elements"*, *"add example: user: ... assistant: ..."*, *"validate my dataset"*, *"what would this cost on gpt-4o-mini?"*, *"export it"*.
3. **Run fine-tune jobs**: *"start a quick fine-tune"*, *"how is my job doing?"*, *"cancel the job"*, *"compare: Tell me about helium"*.

New here? Say *"start the guided path"* and I'll walk you through it step by step.""",
    "chat.empty": "Your message was empty. Ask me something about fine-tuning, for example *\"What is LoRA?\"*, or say *\"help\"* to see what I can do.",
    "chat.too_many_steps": "I used several tools without reaching an answer. Could you rephrase or split the request?",
    "chat.tool_title": "🛠️ Used tool {tool}",
    "chat.tool_pending": "Working…",
    "chat.tool_failed": "That did not work: {error}",
    "chat.backend_failed": "The language model did not answer: {error}",
    # -- tool titles, shown in the chat's tool steps (English keeps the tool's own name) ------------------
    "tool.search_lesson": "search_lesson",
    "tool.draft_examples": "draft_examples",
    "tool.add_drafts": "add_drafts",
    "tool.add_example": "add_example",
    "tool.edit_example": "edit_example",
    "tool.remove_example": "remove_example",
    "tool.create_dataset": "create_dataset",
    "tool.list_datasets": "list_datasets",
    "tool.show_dataset": "show_dataset",
    "tool.validate_dataset": "validate_dataset",
    "tool.estimate_cost": "estimate_cost",
    "tool.export_dataset": "export_dataset",
    "tool.start_finetune": "start_finetune",
    "tool.job_status": "job_status",
    "tool.list_jobs": "list_jobs",
    "tool.cancel_job": "cancel_job",
    "tool.compare": "compare",
    "tool.chat_with_model": "chat_with_model",
    "tool.guide": "guide",
    # -- lesson answers --------------------------------------------------------------------------------
    "lesson.no_match": "No matching lesson section.",
    "answer.sources": "Sources",
    "answer.help": (
        "Ask me anything about fine-tuning language models and I will answer from the lesson notes, "
        "citing the sections so you can read more. For example:\n\n"
        "- What is fine-tuning and how is it different from RAG?\n"
        "- How many training examples do I need?\n"
        "- What does the learning rate multiplier do?\n"
        "- What format does the chat training data use?\n\n"
        "You can ask in English or in Finnish."
    ),
    "answer.out_of_scope": (
        "The lesson notes don't cover that, so I can't answer it from them. "
        "I can help with questions on these topics:\n\n{topics}"
    ),
    "answer.other_language": "(These sections are only available in {language}.)",
    "language.en": "English",
    "language.fi": "Finnish",
    # -- the dataset workshop --------------------------------------------------------------------------
    "dataset.drafts": "Here are {count} drafts:\n\n{shown}\n\nSay *add them* to add them to *{name}*, or *edit example N assistant: …* after adding.",
    "dataset.no_drafts": "There are no drafts yet: say *help me make examples for …* first.",
    "dataset.drafts_added": "Added {added} examples to *{name}*; it now has {total}. Next: *validate my dataset*.",
    "dataset.example_added": "Added example {total} to *{name}*.",
    "dataset.no_such_example": "*{name}* has examples 1–{count}; there is no example {index}.",
    "dataset.example_removed": "Removed example {index}; {total} left.",
    "dataset.created": "Created dataset *{name}*; it is now your current dataset.",
    "dataset.none": "No datasets yet.",
    "dataset.exported": "Exported *{name}*:\n{listing}\n\nDownload them from the Dataset tab.",
    "report.errors": "❌ **Errors**",
    "report.where": "line {lines}: ",
    "report.clean": "✅ *{name}*: {count} examples, no errors.",
    "report.notebook": "- 📓 The cookbook notebook's checks (for comparison only): {counts}",
    "report.price_unknown": "price unknown",
    "report.tokens": "**Tokens**: {total} · {epochs} epochs · billed {billed} · {model}: {cost}",
    # -- fine-tune jobs --------------------------------------------------------------------------------
    "job.status.queued": "queued",
    "job.status.running": "running",
    "job.status.succeeded": "succeeded",
    "job.status.failed": "failed",
    "job.status.cancelled": "cancelled",
    "job.status.interrupted": "interrupted",
    "job.step": "step {step}",
    "job.train_loss": "{step} · train loss {first:.3f} → {last:.3f}  `{curve}`",
    "job.eval_loss": "validation loss {loss:.3f}",
    "job.loading": "Loading the model; the first metrics will appear shortly.",
    "job.reason": "Reason: {error}",
    "job.result": "Result: `{target}`. Try: *compare: Tell me about helium*",
    "job.no_jobs_to_use": "You have no jobs yet: say *start a quick fine-tune*.",
    "job.started": "Started fine-tune job **{job}** on *{name}* ({preset}). Ask *how is my job doing?* or watch the curve in the Jobs tab.",
    "job.none": "No jobs yet.",
    "job.base": "Base model",
    "job.tuned": "Fine-tuned",
    # -- the guided path -------------------------------------------------------------------------------
    "guide.learn.title": "Learn what fine-tuning is, and when and why",
    "guide.learn.task": "Ask me *What is fine-tuning?* and *When should I fine-tune?*, then answer the check question.",
    "guide.learn.question": "What does fine-tuning change?",
    "guide.learn.option.a": "the model's weights, by training on your examples",
    "guide.learn.option.b": "only the prompt sent with each request",
    "guide.learn.option.c": "the documents the model searches at answer time",
    "guide.learn.explain": "Fine-tuning continues training, so the weights change; prompts and retrieval leave them as they are.",
    "guide.decide.title": "Decide with the checklist",
    "guide.decide.task": "Ask *What is on the decision checklist?* (use case, alternatives tried, costs, benefits), then answer.",
    "guide.decide.question": "What should you try before fine-tuning?",
    "guide.decide.option.a": "a larger learning rate",
    "guide.decide.option.b": "prompt engineering, few-shot examples and RAG",
    "guide.decide.option.c": "more epochs",
    "guide.decide.explain": "Cheaper techniques often get there; fine-tune when they fall short on a clear use case.",
    "guide.dataset.title": "Build a dataset of at least {min_examples} examples",
    "guide.dataset.task": "Say *help me make examples for a limerick bot about chemical elements*, check the drafts, then *add them*.",
    "guide.validate.title": "Validate it and estimate the cost",
    "guide.validate.task": "Say *validate my dataset*, then *what would this cost on gpt-4o-mini?*",
    "guide.finetune.title": "Fine-tune",
    "guide.finetune.task": "Say *start a quick fine-tune* (a LoRA run on this machine, a few minutes on a CPU), then *how is my job doing?*",
    "guide.evaluate.title": "Evaluate: base vs tuned, side by side",
    "guide.evaluate.task": "Say *compare: Tell me about helium* and look at both answers.",
    "guide.next.title": "Next steps",
    "guide.next.task": (
        "Grow the dataset to 50–100 varied examples, add a validation split (*export it* with a validation share), try the "
        "*balanced* preset, and read *How do I evaluate a fine-tuned model?*. With an OpenAI key, say *start an openai fine-tune*."
    ),
    "guide.finished": "🎉 You finished the whole path! {task}",
    "guide.step": "**Step {number}/{total}: {title}**",
    "guide.answer_prompt": "Answer with a, b or c.",
    "guide.add_drafts": "Say *add them* to save the drafts to your dataset.",
    "guide.proposal": "➡️ **Next:** {task}",
    "guide.right": "✅ Right! {explain}",
    "guide.wrong": "❌ Not quite — try again. ",
    # -- the /chat API -------------------------------------------------------------------------------------
    "api.message_not_text": "The message must be text (a string), e.g. \"What is LoRA?\".",
    "api.bad_learner": "learner must be 1-64 letters, digits, '-' or '_'.",
    # -- the page: labels (ui.*, given to gr.I18n without the prefix) and its error toasts --------------
    "ui.title": "finetune-tutor",
    "ui.tagline": "Learn to fine-tune LLMs, build a dataset, run a real fine-tune — in one chat.",
    "ui.chat_tab": "Chat",
    "ui.dataset_tab": "Dataset",
    "ui.jobs_tab": "Jobs",
    "ui.placeholder": "Ask about fine-tuning, or say \"help\"…",
    "ui.guide": "Guided path",
    "ui.examples_label": "Try these",
    "ui.start_guide": "Start the guided path",
    "ui.next_step": "Next step",
    "ui.dataset": "Dataset",
    "ui.new_dataset": "New dataset name",
    "ui.new_dataset_placeholder": "limericks",
    "ui.create": "Create",
    "ui.examples": "Examples",
    "ui.example_number": "Example # (to edit or remove)",
    "ui.system": "System message",
    "ui.user": "User message",
    "ui.assistant": "Assistant reply",
    "ui.add": "Add example",
    "ui.save_edit": "Save changes",
    "ui.remove": "Remove example",
    "ui.upload": "Import a file (JSONL, JSON, Alpaca, ShareGPT, prompt/completion)",
    "ui.import_mode": "Import mode",
    "ui.validate": "Validate",
    "ui.model": "Model",
    "ui.report": "Validation report",
    "ui.validation_fraction": "Validation share",
    "ui.export": "Export",
    "ui.download": "Download",
    "ui.preset": "Preset",
    "ui.backend": "Backend",
    "ui.epochs": "Epochs",
    "ui.start_job": "Start fine-tune",
    "ui.jobs": "Jobs",
    "ui.job": "Job",
    "ui.cancel_job": "Cancel job",
    "ui.loss_curve": "Loss",
    "ui.prompt": "Prompt",
    "ui.prompt_placeholder": "Tell me about helium.",
    "ui.ask_tuned": "Ask the tuned model",
    "ui.compare": "Compare base vs tuned",
    "ui.base_model": "Base model",
    "ui.tuned_model": "Fine-tuned model",
    "error.choose_dataset": "Choose a dataset first (build one in the Dataset tab or in the chat).",
    "error.choose_job": "Choose a job to cancel.",
    "error.choose_finished_job": "Choose a finished job and write a prompt.",
    "error.number_to_change": "Enter the number of the example to change.",
    "error.number_to_remove": "Enter the number of the example to remove.",
    "error.choose_file": "Choose a file to import.",
    'openai.closure': "Before this job is created (model table as of {as_of}): OpenAI's fine-tuning platform has been closed to new users since {closed} and accepts no new jobs after {until}; an organisation without fine-tuning access will have this job refused.",
    'openai.serving': ' Models tuned from {model} stop answering on {serving}.',
    'openai.no_serving': ' No shutdown date is announced for models tuned from {model}.',
    'openai.plan': " Record your tuned model's answers now, then retrain an open model on the same JSONL (--backend local) and compare it with the recording, or move to Azure OpenAI fine-tuning (--backend azure).",
    'openai.guide': "{model} is no longer listed in OpenAI's fine-tuning guide, which lists {listed}.",
    'openai.closed': 'OpenAI accepts no new fine-tuning jobs after {until} (model table as of {as_of}); today is {today}. Train an open model on the same data here (--backend local) or use Azure OpenAI fine-tuning (--backend azure).',
    'azure.billing': 'Azure OpenAI: training bills once per job, but a tuned model answers only once you deploy it, and a deployed custom model bills by the hour whether or not it is used (except on the Developer tier). Delete deployments you no longer need.',
}
