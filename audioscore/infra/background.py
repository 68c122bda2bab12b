"""One call run in a thread while the caller goes on (an external tool to wait for, a PNG to
encode: work that releases the GIL)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["meanwhile"]

T = TypeVar("T")


def meanwhile(name: str, call: Callable[[], T]) -> Future[T]:
    """Start ``call`` in a thread named ``name``; ``result()`` waits for it and raises its errors."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    started = pool.submit(call)
    pool.shutdown(wait=False)  # the call goes on; the pool takes no more work
    return started
