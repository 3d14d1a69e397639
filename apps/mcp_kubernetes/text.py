"""Trimming text that comes from the cluster before it reaches a model's context."""

from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """``text`` with runs of whitespace collapsed, cut to ``limit`` characters with a visible "...".

    Kubelet and registry messages can be kilobytes long; the first few hundred characters carry the cause.
    """
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
