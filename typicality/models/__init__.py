"""Language models over Σ*: one protocol (:class:`LanguageModel`), several kinds."""

from typicality.models import examples
from typicality.models.arpa import ArpaFormatError, BackoffLM, load_arpa, write_arpa
from typicality.models.autoregressive import AutoregressiveLM
from typicality.models.baer import BaerLM
from typicality.models.base import LanguageModel, String, StringTooLongError, as_string
from typicality.models.finite_state import FiniteStateLM
from typicality.models.finite_support import FiniteSupportLM
from typicality.models.kneser_ney import train_kneser_ney
from typicality.models.ngram import NGramLM

__all__ = [
    "ArpaFormatError",
    "AutoregressiveLM",
    "BackoffLM",
    "BaerLM",
    "FiniteStateLM",
    "FiniteSupportLM",
    "LanguageModel",
    "NGramLM",
    "String",
    "StringTooLongError",
    "as_string",
    "examples",
    "load_arpa",
    "train_kneser_ney",
    "write_arpa",
]
