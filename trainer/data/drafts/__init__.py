"""Drafting training examples from the learner's own material (offline) or with a capable model.

`material` reads pasted text or a file (Q&A, markdown FAQ, CSV/TSV, examples) into pairs; `system`
writes a system message from the described assistant; `wording` rewords questions by fixed rules;
`samples` holds two worked demo topics; `draft` puts them together (`draft`, `draft_like`);
`files` drafts an uploaded file into a dataset; `texts` holds every sentence shown, English and Finnish.
Drafts are shown to the learner, never saved without their say-so (except an explicit upload).
"""

from trainer.data.drafts.draft import MAX_DRAFTS, Drafts, Note, draft, draft_examples, draft_like
from trainer.data.drafts.material import Material, Pair, looks_like_material, read_material
from trainer.data.drafts.system import system_message
from trainer.data.drafts.texts import text

__all__ = ["MAX_DRAFTS", "Drafts", "Material", "Note", "Pair", "draft", "draft_examples", "draft_like",
           "looks_like_material", "read_material", "system_message", "text"]
