"""Hugging Face interop: any typicality adaptor as a transformers ``LogitsProcessor``.

``model.generate(**inputs, **generate_kwargs(adaptor))`` samples each token from the locally normalized adaptor
q_T = T(p) / Z_t (Eq. 5), where p is the model's next-token distribution, computed in float64 by the same
``Adaptor.weights`` the rest of typicality uses. The processor returns log T(p) (−inf off the kept set), whose
softmax is q_T exactly.

Trap: transformers adds its own warpers from the generation config (top_k = 50 in
many configs), which would silently truncate *before* ours. :func:`generate_kwargs` passes neutral values for all
of them, and :func:`active_warpers` lists what ``generate`` would actually apply, so a run can assert it.

torch and transformers are imported only here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from typicality.adaptors.base import Adaptor

#: generation-config fields that make transformers add a warper, and their neutral values
NEUTRAL_SAMPLING = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": None, "typical_p": 1.0,
                    "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "top_h": None}


def logits_processor(adaptor: Adaptor) -> Any:
    """A ``transformers.LogitsProcessor`` that replaces scores by log T(softmax(scores))."""
    import torch
    from transformers import LogitsProcessor

    if not isinstance(adaptor, Adaptor):
        raise TypeError(f"adaptor must be a typicality Adaptor, got {adaptor!r}")

    class TypicalityLogitsProcessor(LogitsProcessor):
        def __init__(self) -> None:
            self.adaptor = adaptor

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            weights = self.adaptor.weights_from_logits(scores.detach().to("cpu", torch.float64).numpy())
            with np.errstate(divide="ignore"):
                logw = np.log(weights)
            return torch.from_numpy(logw).to(device=scores.device, dtype=scores.dtype)

        def __repr__(self) -> str:
            return f"TypicalityLogitsProcessor({self.adaptor!r})"

    return TypicalityLogitsProcessor()


def generate_kwargs(adaptor: Adaptor) -> dict[str, Any]:
    """Keyword arguments for ``model.generate``: sampling with our processor and every HF warper disabled."""
    from transformers import LogitsProcessorList

    return {"do_sample": True, **NEUTRAL_SAMPLING, "logits_processor": LogitsProcessorList([logits_processor(adaptor)])}


def active_warpers(model: Any, **kwargs: Any) -> list[str]:
    """Class names of the logits processors ``model.generate(**kwargs)`` would apply (private HF API, checked
    by the test suite against the installed transformers)."""
    import copy

    config = copy.deepcopy(model.generation_config)
    processors = kwargs.pop("logits_processor", None)
    config.update(**kwargs)
    built = model._get_logits_processor(generation_config=config, input_ids_seq_length=1,
                                        encoder_input_ids=None, prefix_allowed_tokens_fn=None,
                                        logits_processor=processors if processors is not None else [],
                                        device="cpu")
    return [type(p).__name__ for p in built]
