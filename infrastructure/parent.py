"""Child processes that must not outlive the process that started them."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def watch_parent(parent_pid: int, gone: Callable[[], None], stop: threading.Event, every: float) -> None:
    """Until ``stop`` is set, call ``gone`` once when ``parent_pid`` has exited: this process is then
    adopted, so its parent pid changes (the parent cannot always say it is going: SIGKILL, the OOM
    killer). Run it in a daemon thread of its own."""
    while not stop.wait(every):
        if os.getppid() != parent_pid:
            gone()
            return
