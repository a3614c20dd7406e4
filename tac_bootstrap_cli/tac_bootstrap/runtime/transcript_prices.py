"""What Claude Code charges for a message's usage: its own rates per model, measured.

Standard library only (the hook recorder's transcript import uses it).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Price(NamedTuple):
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_write_5m: float  # cache writes with the default 5-minute lifetime
    cache_write_1h: float  # cache writes with a 1-hour lifetime (usage.cache_creation)
    cache_read: float


# The rates Claude Code itself charges, so that a transcript's cost equals the CLI's
# `total_cost_usd` / `modelUsage.costUSD`. Measured against the pinned CLI (2.1.332) with the
# fake Messages API (tests/fake_anthropic.py): for each model one run per token kind with
# 10,000 and with 1,000,000 tokens of that kind and none of the others, then more runs where
# the two disagreed; tests/test_real_cli_transcripts.py checks the aliases' again. What those
# runs showed: a 1-hour cache write is `usage.cache_creation.ephemeral_1h_input_tokens` and
# the rest of `cache_creation_input_tokens` is priced as 5-minute writes; costs are linear in
# each kind except claude-haiku-5-5's (LONG_CONTEXT). Keys are canonical names (see
# canonical_model); `--model sonnet|opus|haiku|fable` resolve to claude-sonnet-5-5,
# claude-opus-5-5, claude-haiku-5-5 and claude-fable-5-2 in this CLI. A model the CLI does
# not know (claude-3-opus, claude-3-haiku, made-up names) it charges at claude-opus-5-5's
# rates; here such a model is unpriced (cost 0, and `db stats` says so).
PRICES: dict[str, Price] = {
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.5, 4.0, 0.1),
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 8.0, 0.2),
    "claude-haiku-5-5": Price(0.1, 0.5, 0.125, 0.2, 0.01),
    "claude-fable-5-2": Price(8.0, 40.0, 10.0, 16.0, 0.2),
    "claude-opus-4-6": Price(5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-opus-4-5": Price(5.0, 25.0, 6.25, 10.0, 0.5),
    "claude-sonnet-4-6": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-sonnet-4-5": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-sonnet-4": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-3-7-sonnet": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-3-5-sonnet": Price(3.0, 15.0, 3.75, 6.0, 0.3),
    "claude-haiku-4-5": Price(1.0, 5.0, 1.25, 2.0, 0.1),
    "claude-3-5-haiku": Price(0.8, 4.0, 1.0, 1.6, 0.08),
    # Not measurable with this CLI (it sends claude-opus-5-5 when asked for them), but older
    # transcripts hold them: Anthropic's list prices.
    "claude-opus-4-1": Price(15.0, 75.0, 18.75, 30.0, 1.5),
    "claude-opus-4": Price(15.0, 75.0, 18.75, 30.0, 1.5),
}
# Rates of a message whose prompt (input + cache write + cache read tokens; not output) is
# longer than the threshold: every token of it, output included, at the second rates.
# Measured: 100,000 prompt tokens are priced low, 100,001 high.
LONG_CONTEXT: dict[str, tuple[int, Price]] = {
    "claude-haiku-5-5": (100_000, Price(0.5, 2.5, 0.625, 1.0, 0.05)),
}
PRICES_SOURCE = "Claude Code 2.1.332's own rates, measured with tests/fake_anthropic.py"

_DATE_SUFFIX = re.compile(r"[-@]\d{8}$")
_PROVIDER_PREFIX = re.compile(r"^(?:[a-z]{2}\.)?anthropic[./]")  # Bedrock, Vertex model names


def canonical_model(model: str) -> str:
    """The PRICES key of a model name: lower case, without a provider prefix
    (`us.anthropic.`), a `-v1:0` version, a `[1m]` context suffix or a release date."""
    name = model.strip().lower()
    name = _PROVIDER_PREFIX.sub("", name)
    name = name.split("[", 1)[0]
    name = re.sub(r"-v\d+(?::\d+)?$", "", name)
    name = _DATE_SUFFIX.sub("", name)
    if name.endswith("-0") and name.count("-") == 3:  # claude-sonnet-4-0 is claude-sonnet-4
        name = name[:-2]
    return name


def price_of(model: str, prompt_tokens: int = 0) -> Price | None:
    """The rates of a message of `model` whose prompt had `prompt_tokens` tokens."""
    key = canonical_model(model)
    tier = LONG_CONTEXT.get(key)
    if tier is not None and prompt_tokens > tier[0]:
        return tier[1]
    return PRICES.get(key)


def cost_usd(
    model: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_creation_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_1h_tokens: int = 0,
) -> float | None:
    """What the CLI charges for one message's usage; None for a model without a price."""
    price = price_of(model, input_tokens + cache_creation_tokens + cache_read_tokens)
    if price is None:
        return None
    one_hour = min(max(cache_1h_tokens, 0), cache_creation_tokens)
    return (
        input_tokens * price.input
        + output_tokens * price.output
        + (cache_creation_tokens - one_hour) * price.cache_write_5m
        + one_hour * price.cache_write_1h
        + cache_read_tokens * price.cache_read
    ) / 1_000_000
