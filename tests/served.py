"""An ASGI app served by uvicorn on a free loopback port, in a thread: the browser tests'
and the CDS sandbox test's servers."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from tests.postgres import free_port


class Served:
    """Start at construction; ``url`` is its address; ``stop()`` ends it."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                return
            time.sleep(0.025)
        raise RuntimeError("a test server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
