"""Run ``odbackup ARGS`` and SIGKILL it right after its Nth object sent to the bucket.

``python kill_after_puts.py N ARGS...``: every PUT that the server accepted is counted (the
storage library's ``put``, which every object the S3 backend sends goes through); right after
the Nth the process kills itself with SIGKILL, as a power cut or a killed service would stop
it, with nothing cleaned up. ``N = 0`` counts only and prints ``puts: K`` on stderr at exit.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys

import obstore

_count = 0
_limit = int(sys.argv[1])
_put = obstore.put


def _counted_put(*args, **kwargs):
    global _count
    result = _put(*args, **kwargs)
    _count += 1
    if _count == _limit:
        os.kill(os.getpid(), signal.SIGKILL)
    return result


obstore.put = _counted_put
if _limit == 0:
    atexit.register(lambda: print(f"puts: {_count}", file=sys.stderr))

from tui.cli import main  # noqa: E402  (after the patch: every module sees it)

sys.exit(main(sys.argv[2:]))
