"""Property evidence: a Hypothesis search over random models, derandomized so the ledger is reproducible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typicality.ledger.core import Evidence


def property_check(description: str, check: Callable[..., Any], *strategies: Any,
                   max_examples: int = 40, expect_failure: bool = False, min_informative: int = 0,
                   ratio: str = "bound / exact") -> Evidence:
    """Run ``check`` on ``max_examples`` derandomized draws from ``strategies``; it asserts what must hold.

    A falsifying example (after Hypothesis shrinks it) is reported in the details. With ``expect_failure`` the
    check asserts a *negation* (e.g. "no reversal exists") and the evidence passes when Hypothesis falsifies it:
    a search that found an example.

    A check may return a dict describing the example; ``{"informative": True}`` marks an example where the claim
    could have failed (a bound neither vacuous nor trivially met), and a ``"ratio"`` entry is reported as its
    minimum over the examples (e.g. bound / exact probability). With ``min_informative`` the evidence fails unless
    at least that many informative examples passed: a property run on examples where nothing could fail proves
    nothing.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    seen: dict[str, Any] = {"examples": 0, "informative": 0, "ratios": []}

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(st.tuples(*strategies))
    def prop(args: tuple) -> None:
        seen["examples"] += 1
        out = check(*args)
        if isinstance(out, dict):
            seen["informative"] += bool(out.get("informative"))
            if out.get("ratio") is not None:
                seen["ratios"].append(float(out["ratio"]))

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
    details: dict[str, Any] = {"examples": seen["examples"], "note": "no example found" if expect_failure else ""}
    if min_informative:
        details["informative"] = seen["informative"]
        details["min_informative"] = min_informative
        if seen["ratios"]:
            details["min_ratio"] = min(seen["ratios"])
        enough = seen["informative"] >= min_informative
        if not enough:
            details["note"] = f"only {seen['informative']} informative examples (< {min_informative})"
        description += (f" [{seen['informative']} of {seen['examples']} examples informative"
                        + (f"; min {ratio} {details['min_ratio']:.3g}" if "min_ratio" in details else "") + "]")
        return Evidence("property", description, enough and not expect_failure, details)
    return Evidence("property", description, not expect_failure, details)
