"""Property evidence: a Hypothesis search over random models, derandomized so the ledger is reproducible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typicality.ledger.core import Evidence


def property_check(description: str, check: Callable[..., None], *strategies: Any,
                   max_examples: int = 40, expect_failure: bool = False) -> Evidence:
    """Run ``check`` on ``max_examples`` derandomized draws from ``strategies``; it asserts what must hold.

    A falsifying example (after Hypothesis shrinks it) is reported in the details. With ``expect_failure`` the
    check asserts a *negation* (e.g. "no reversal exists") and the evidence passes when Hypothesis falsifies it:
    a search that found an example.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    seen = {"examples": 0}

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(st.tuples(*strategies))
    def prop(args: tuple) -> None:
        seen["examples"] += 1
        check(*args)

    try:
        prop()
    except AssertionError as e:
        notes = "\n".join(getattr(e, "__notes__", []))
        return Evidence("property", description, expect_failure,
                        {"examples": seen["examples"], "falsified_by": notes or str(e)})
    except Exception as e:  # an error inside the check is a failure either way
        notes = "\n".join(getattr(e, "__notes__", []))
        return Evidence("property", description, False,
                        {"examples": seen["examples"], "failure": f"{type(e).__name__}: {e}\n{notes}"})
    return Evidence("property", description, not expect_failure,
                    {"examples": seen["examples"], "note": "no example found" if expect_failure else ""})
