"""The real daemon as the campaign parts run it, and a /healthz poller."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import urllib.request

from conftest import Daemon, wait_for

DROP_CAPS = ["setpriv", "--inh-caps=-dac_override,-dac_read_search,-fowner",
             "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


class Unprivileged(Daemon):
    """The real daemon; as root, without the capabilities that let root read and link anyone's files."""

    def prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return DROP_CAPS if shutil.which("setpriv") else []

    def start(self):
        self.proc = subprocess.Popen([*self.prefix(), sys.executable, "-m", "ocrwatchd", "-v", "run", "--config",
                                      str(self.config)], stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        wait_for(lambda: "watching" in self.log.read_text() or self.proc.poll() is not None, 180,
                 f"daemon start ({self.log})")
        assert self.proc.poll() is None, self.log.read_text()
        return self


class Health(threading.Thread):
    """Polls /healthz every 0.25 s: how many answers were not 200 (refused connections count too)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.polls, self.bad, self.stop = url + "/healthz", 0, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            self.polls += 1
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status != 200:
                        self.bad.append(r.status)
            except Exception as e:
                self.bad.append(repr(e)[:80])
