"""Hypothesis profiles: ``ci`` (derandomized; Hypothesis loads it itself when CI is set), ``dev`` and
``thorough``; choose with HYPOTHESIS_PROFILE or --hypothesis-profile."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif not os.environ.get("CI"):
    settings.load_profile("dev")
