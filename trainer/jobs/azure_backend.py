"""Azure OpenAI fine-tuning: the same jobs as `trainer.jobs.openai_backend`, on an Azure resource.

Azure speaks the OpenAI fine-tuning API under its own paths (`/openai/files`,
`/openai/fine_tuning/jobs?api-version=...`) with an `api-key` header; the openai SDK's
`AzureOpenAI` client (`core.openai_api.make_azure_client`) does that, so upload, create, poll,
events, metrics and cancel are `openai_backend`'s own functions. What is Azure's own lives here:
the base model's name as Azure spells it (gpt-3.5 is gpt-35 there; the dated table knows), and
the note that matters most for a learner's bill: a tuned model must be deployed before it answers,
and a deployment bills by the hour whether or not it is used (except on the Developer tier).
"""

from __future__ import annotations

from core.texts import text
from trainer.data.prices import PriceTable, load_prices



def azure_model_name(model: str, table: PriceTable | None = None) -> str:
    """The base model's name on Azure OpenAI (`gpt-3.5-turbo-0125` is `gpt-35-turbo-0125` there)."""
    return (table or load_prices()).azure_name(model)


def billing_note(lang: str = "en") -> str:
    """The hourly-billing note, in the learner's language (English unless Finnish)."""
    return text(lang, "azure.billing")
