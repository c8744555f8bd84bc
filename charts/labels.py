"""Token labels made safe for Plotly, which renders a subset of HTML in text, and the same
labels as plain text for the charts' text alternatives."""

from __future__ import annotations

import html
from collections.abc import Sequence

MAX_LABEL_CHARS = 24


def escape_label(text: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """Plain text for a Plotly label: shortened to `max_chars`, with <, >, &, quotes escaped."""
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return html.escape(text, quote=True)


def token_labels(tokens: Sequence[str]) -> list[str]:
    """One escaped label per token position, e.g. 'drives'."""
    return [escape_label(token) for token in tokens]


def position_labels(tokens: Sequence[str]) -> list[str]:
    """Escaped labels that name the position too, e.g. '3: drives' (for hover text)."""
    return [f"{i + 1}: {label}" for i, label in enumerate(token_labels(tokens))]


def plain_label(text: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    """A token for plain text (a screen reader's text alternative): shortened, not escaped."""
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def plain_position_labels(tokens: Sequence[str]) -> list[str]:
    """Plain-text labels with the position, e.g. '3: drives' (never for Plotly text)."""
    return [f"{i + 1}: {plain_label(token)}" for i, token in enumerate(tokens)]
