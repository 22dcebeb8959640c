"""Sending care messages (关怀发送): the channel interface and the local outbox.

SMS and e-mail care contacts are not sent by the service that creates them: it writes one
:class:`~operational.models.OutboxMessage` (``queued``) per contact, in the same transaction.
:func:`deliver_outbox` (called by the daily job, and by the care page after a manual send) hands
each queued message to a :class:`Channel` and records the outcome:

- ``delivered`` → the message's ``sent_at`` is set and the care contact becomes ``sent``;
- ``failed`` → the error is kept on the message and the contact becomes ``failed``.

A channel is anything with ``send(message) -> DeliveryResult``; an exception raised by a channel
counts as a failure of that one message (its text is the error), never of the whole batch. The
channel is chosen by the setting ``CLUBCRM_CARE_CHANNEL``:

- ``outbox`` (default): :class:`LocalOutboxChannel`. Nothing leaves the machine: a message with a
  well-formed address (mainland mobile for SMS, ``name@domain`` for e-mail) is marked delivered,
  one without is failed with the reason. With ``CLUBCRM_CARE_OUTBOX_FILES=1`` each delivered
  message is also written as a JSON file under ``CLUBCRM_HOME/outbox/<club day>/``, where a
  person or another program can pick it up.
- ``package.module:factory``: a real gateway. ``factory()`` (a class or function) returns the
  channel; nothing else changes.

Exactly once. Messages are taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (on SQLite the
database write lock), so two delivery runs at the same time never hand the same message to the
gateway twice, and a delivered or failed message is never sent again. A failed message stays
failed: a new attempt is a new care.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.db import begin_sqlite_transaction
from operational.models import CareContact, OutboxMessage
from operational.models.base import utcnow
from operational.services.points import club_today

#: Care channels that send through the outbox; the others record the result only.
SENDING_CHANNELS = ("sms", "email")

_MOBILE = re.compile(r"1\d{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel says about one message: delivered, or failed with the reason."""

    delivered: bool
    error: str | None = None


@runtime_checkable
class Channel(Protocol):
    """A way of sending a message (the local outbox, an SMS gateway, an SMTP relay…)."""

    def send(self, message: OutboxMessage) -> DeliveryResult: ...


@dataclass
class LocalOutboxChannel:
    """The default channel: checks the address, optionally writes a file, sends nothing."""

    folder: Path | None = None

    def send(self, message: OutboxMessage) -> DeliveryResult:
        address = (message.address or "").strip()
        if message.channel == "sms" and not _MOBILE.fullmatch(address):
            return DeliveryResult(False, f"not a mainland mobile number: {address!r}")
        if message.channel == "email" and not _EMAIL.fullmatch(address):
            return DeliveryResult(False, f"not an e-mail address: {address!r}")
        if self.folder is not None:
            day_folder = self.folder / club_today().isoformat()
            day_folder.mkdir(parents=True, exist_ok=True)
            payload = {
                "id": message.id,
                "contact_id": message.contact_id,
                "channel": message.channel,
                "address": address,
                "subject": message.subject,
                "body": message.body,
            }
            target = day_folder / f"{message.id}.json"
            temporary = target.with_suffix(".tmp")
            temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=2), "utf-8")
            temporary.replace(target)  # a reader never sees half a file
        return DeliveryResult(True)


def channel_from_settings() -> Channel:
    """The channel named by ``CLUBCRM_CARE_CHANNEL`` (see the module docstring)."""
    name = os.environ.get("CLUBCRM_CARE_CHANNEL", "").strip() or "outbox"
    if name == "outbox":
        folder = None
        if os.environ.get("CLUBCRM_CARE_OUTBOX_FILES", "").strip().lower() in {"1", "true", "yes"}:
            from clubcrm.settings import get_settings

            folder = get_settings().home / "outbox"
        return LocalOutboxChannel(folder)
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(
            f"CLUBCRM_CARE_CHANNEL must be 'outbox' or 'package.module:factory', got {name!r}"
        )
    channel = getattr(importlib.import_module(module_name), attribute)()
    if not isinstance(channel, Channel):
        raise ValueError(f"{name} did not return a channel (an object with send(message))")
    return channel


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (message id, error)

    def lines(self) -> list[str]:
        return [
            f"care messages delivered: {self.delivered}",
            f"care messages failed: {self.failed}",
        ]


def deliver_outbox(
    session: Session, channel: Channel | None = None, *, limit: int = 500
) -> DeliveryReport:
    """Hand up to ``limit`` queued messages (oldest first) to ``channel`` and record the outcome.

    Runs in the caller's transaction; each message's outcome and its contact's status change
    together. ``channel`` defaults to :func:`channel_from_settings`.
    """
    channel = channel or channel_from_settings()
    begin_sqlite_transaction(session, write_lock=True)
    messages = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "queued")
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    report = DeliveryReport()
    for message in messages:
        try:
            result = channel.send(message)
        except Exception as exc:  # a gateway error fails this message, not the batch
            result = DeliveryResult(False, f"{type(exc).__name__}: {exc}")
        contact = session.get(CareContact, message.contact_id)
        if result.delivered:
            message.status = "delivered"
            message.sent_at = utcnow()
            message.error = None
            report.delivered += 1
        else:
            message.status = "failed"
            message.error = result.error or "failed"
            report.failed += 1
            report.errors.append((message.id, message.error))
        if contact is not None and contact.status == "pending":
            contact.status = "sent" if result.delivered else "failed"
    session.flush()
    return report
