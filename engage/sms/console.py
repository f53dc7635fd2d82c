"""The development gateway: appends each message to var/outbox.jsonl instead of sending it."""

from __future__ import annotations

import fcntl
import json
import uuid
from pathlib import Path
from typing import Any

from engage.db import utcnow
from engage.sms.gateway import SendResult


class ConsoleGateway:
    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        line = json.dumps({"to": to, "body": body, "at": utcnow().isoformat()}, ensure_ascii=False)
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as handle:
            # Several worker processes may append at once; the lock keeps lines whole.
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(line + "\n")
        return SendResult(gateway_id=f"console-{uuid.uuid4().hex}", status="sent")


def read_outbox(outbox: Path, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` messages, newest first."""
    if not outbox.exists():
        return []
    lines = outbox.read_text(encoding="utf-8").splitlines()[-limit:]
    return [json.loads(line) for line in reversed(lines) if line.strip()]
