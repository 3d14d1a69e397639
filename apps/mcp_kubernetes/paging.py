"""Reading a list in pages, with a ceiling, so a large cluster costs a bounded number of bytes and requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from kubernetes.client import V1ListMeta

ItemT_co = TypeVar("ItemT_co", covariant=True)
ItemT = TypeVar("ItemT")


class ListPage(Protocol[ItemT_co]):
    """What every ``V1…List`` the client returns has in common."""

    @property
    def items(self) -> Sequence[ItemT_co]: ...

    @property
    def metadata(self) -> V1ListMeta | None: ...


def continue_token(page: ListPage[object]) -> str | None:
    """The server's token for the next page; None when this page was the last."""
    return page.metadata.var_continue if page.metadata and page.metadata.var_continue else None


def collect_pages(
    fetch_page: Callable[[int, str | None], ListPage[ItemT]], *, page_size: int, max_items: int
) -> tuple[list[ItemT], bool]:
    """Call ``fetch_page(limit, continue_token)`` until the list ends or ``max_items`` are held.

    Returns the items and whether more existed than were read. Servers may return fewer items than ``limit``
    (even zero) while more remain, so the loop follows the continue token, not the page length.
    """
    items: list[ItemT] = []
    token: str | None = None
    while True:
        page = fetch_page(min(page_size, max_items - len(items)), token)
        items.extend(page.items)
        token = continue_token(page)
        if token is None:
            return items, False
        if len(items) >= max_items:
            return items, True
