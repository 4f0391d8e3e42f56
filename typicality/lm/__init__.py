"""The real-model study (§6.2, App. F) on transformers models: load, sample, score, analyse, report.

torch and transformers are imported only inside this package (and only when a function needs them), so
``import typicality`` stays fast and torch-free.
"""
