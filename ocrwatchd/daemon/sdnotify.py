"""sd_notify: tell systemd we are READY, what we are doing (STATUS), that we are alive (WATCHDOG), STOPPING,
RELOADING. Through systemd-python's systemd.daemon.notify when importable; otherwise a small sender of the same
protocol (one datagram to $NOTIFY_SOCKET, '@' meaning the abstract namespace), so pip installs without
libsystemd still work. Without $NOTIFY_SOCKET (not under systemd) every call is a no-op.
"""
from __future__ import annotations

import os
import socket
import time


def _fallback_send(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.connect(address)
        s.sendall(message.encode())
    return True


try:
    from systemd import daemon as _sd_daemon   # systemd-python

    def _send(message: str) -> bool:
        return bool(_sd_daemon.notify(message))
    BACKEND = "systemd-python"
except ImportError:
    _send = _fallback_send
    BACKEND = "built-in"


class Notifier:
    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        # WATCHDOG_PID, when set, names the process the watchdog is meant for.
        self.watchdog_interval = int(usec) / 2e6 if usec and (not pid or int(pid) == os.getpid()) else None

    def send(self, *fields: str) -> None:
        if self.enabled:
            try:
                _send("\n".join(fields))
            except OSError:
                pass   # systemd went away or the socket is gone: nothing useful to do about it

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def reloading(self) -> None:
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
