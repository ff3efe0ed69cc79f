"""Run ``odbackup ARGS`` and SIGKILL it right after its Nth change to the file system.

``python kill_after.py N ARGS...``: every rename (a file published), file removal and
exclusive create is counted; right after the Nth the process kills itself with SIGKILL, as a
power cut or a killed service would stop it there, with nothing cleaned up. ``N = 0`` counts
only and prints ``changes: K`` on stderr at exit. Used to stop a prune between any two of its
steps, which random timing alone rarely hits.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys

_count = 0
_limit = int(sys.argv[1])


def _counted(func):
    def wrapper(*args, **kwargs):
        global _count
        result = func(*args, **kwargs)
        _count += 1
        if _count == _limit:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


os.replace = _counted(os.replace)
os.remove = _counted(os.remove)
if _limit == 0:
    atexit.register(lambda: print(f"changes: {_count}", file=sys.stderr))

from tui.cli import main  # noqa: E402  (after the patches: every module sees them)

sys.exit(main(sys.argv[2:]))
