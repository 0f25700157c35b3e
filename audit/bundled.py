"""Scenarios shipped inside the package, for `card-audit demo`."""

from __future__ import annotations

from pathlib import Path

SCENARIO_DIR = Path(__file__).parent / "scenarios"


def demo_scenarios() -> list[tuple[Path, str]]:
    """(scenario file, expected verdict) pairs that `card-audit demo` runs, clean first."""
    return [(SCENARIO_DIR / "demo-stripe.yaml", "pass"), (SCENARIO_DIR / "demo-stripe-leaky.yaml", "fail")]


def demo_adblock_runs() -> list[tuple[Path, str, str]]:
    """(scenario file, ad blocker mode, expected verdict): the clean invoice paid by a payer running
    the real filter lists. Stripe's telemetry is stopped (medium findings), the payment completes."""
    return [(SCENARIO_DIR / "demo-stripe.yaml", "lists", "pass")]
