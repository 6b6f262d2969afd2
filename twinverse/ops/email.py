"""Alarm notifications by e-mail (SMTP): new alarms, escalation, reminders, rate-limited into digests.

An :class:`EmailNotifier` listens to an :class:`~twinverse.ops.AlarmService` and sends plain-text
mails through one SMTP server (:mod:`smtplib`; plain, STARTTLS or implicit TLS, optional login):

- **new alarms** — every raise that is annunciated (a shelved or suppressed alarm mails
  nothing) at or above ``min_priority``. Raises gather for ``gather_s`` seconds: one alarm is
  one mail, several are one digest.
- **escalation** — an alarm still *unacknowledged* ``escalate_after_s`` after it was raised is
  mailed once (per raise) to the second list ``escalate_to``.
- **reminders** — every ``remind_every_s`` an alarm stays unacknowledged, one mail to ``to``
  lists all the alarms that are due.

At most ``max_per_hour`` mails leave per sliding hour, whatever their kind (escalations first,
then reminders, then new alarms). When the budget is spent the raises wait; the next mail
allowed is one digest listing at most ``max_listed`` of them and counting the rest, so a
flood of alarms becomes a digest, never a mail storm. A failed delivery is logged and
retried with the next flush.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from ..core.clock import iso
from ..core.clock import now_us as _now_us
from ..model.rules import AlarmPriority
from .alarms import Alarm, AlarmService
from .journal import AlarmEvent
from .lifecycle import AlarmState, Event

__all__ = ["EmailNotifier", "SmtpServer"]

log = logging.getLogger("twinverse.ops.email")

_HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class SmtpServer:
    """Where mails go: host, port, ``tls`` (``none``, ``starttls`` or ``ssl``) and an optional login."""

    host: str
    port: int = 25
    tls: Literal["none", "starttls", "ssl"] = "none"
    user: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    context: ssl.SSLContext | None = None  # None: the system's trusted certificates


class EmailNotifier:
    """Mail the alarms of ``service``; :meth:`start` its thread, :meth:`close` to stop."""

    def __init__(
        self,
        service: AlarmService,
        server: SmtpServer,
        *,
        sender: str,
        to: Sequence[str],
        min_priority: AlarmPriority = AlarmPriority.HIGH,
        escalate_after_s: float | None = None,
        escalate_to: Sequence[str] = (),
        remind_every_s: float | None = None,
        max_per_hour: int = 20,
        max_listed: int = 50,
        gather_s: float = 10.0,
        clock: Callable[[], int] = _now_us,
    ) -> None:
        if not to:
            raise ValueError("e-mail notifications need at least one recipient ('to')")
        self.service = service
        self.server = server
        self.sender = sender
        self.to = list(to)
        self.escalate_to = list(escalate_to) or self.to
        self.min_rank = min_priority.rank
        self.escalate_after_us = None if escalate_after_s is None else int(escalate_after_s * 1e6)
        self.remind_every_us = None if remind_every_s is None else int(remind_every_s * 1e6)
        self.max_per_hour = max_per_hour
        self.max_listed = max_listed
        self.gather_s = gather_s
        self.clock = clock
        self._pending: list[AlarmEvent] = []
        self._overflow = 0  # raises not listed in any mail yet (beyond max_listed)
        self._sent: deque[int] = deque()  # times of the mails of the last hour
        self._escalated: set[tuple[str, int]] = set()  # (alarm, raise time)
        self._reminded: dict[tuple[str, int], int] = {}  # (alarm, raise time) -> last reminder (or the raise)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        self.failed = 0
        self._unlisten = service.on_events(self._on_events)

    @property
    def overflow(self) -> int:
        """Raises waiting beyond the ones a digest lists."""
        return self._overflow

    def _on_events(self, events: Sequence[AlarmEvent]) -> None:
        keep = [e for e in events if e.event == Event.RAISE.value and e.state == AlarmState.UNACKNOWLEDGED.value
                and AlarmPriority(e.priority).rank >= self.min_rank]  # fmt: skip
        with self._lock:
            room = max(self.max_listed - len(self._pending), 0)
            self._pending.extend(keep[:room])
            self._overflow += len(keep) - len(keep[:room])

    # -- flushing --------------------------------------------------------------------------
    def _allowed(self, now: int) -> bool:
        while self._sent and self._sent[0] <= now - _HOUR_US:
            self._sent.popleft()
        return len(self._sent) < self.max_per_hour

    def flush(self, now: int | None = None) -> int:
        """Send what is due if the rate allows: escalations, reminders, then the gathered raises. Returns mails sent."""
        t = self.clock() if now is None else now
        sent = 0
        unacked = [a for a in self.service.list(states=[AlarmState.UNACKNOWLEDGED])
                   if a.raised_us is not None and a.rule.priority.rank >= self.min_rank]  # fmt: skip
        live = {(a.id, a.raised_us or 0) for a in unacked}
        self._escalated &= live  # forget acknowledged or cleared ones
        self._reminded = {k: v for k, v in self._reminded.items() if k in live}
        if self.escalate_after_us is not None:
            due = [a for a in unacked if (a.id, a.raised_us or 0) not in self._escalated
                   and t - (a.raised_us or 0) >= self.escalate_after_us]  # fmt: skip
            if due and self._allowed(t):
                minutes = self.escalate_after_us / 60e6
                subject = f"ESCALATION: {len(due)} alarm{'s' * (len(due) > 1)} unacknowledged for {minutes:g} min"
                if self._send(self.escalate_to, subject, self._alarm_lines(due, t), t):
                    self._escalated.update((a.id, a.raised_us or 0) for a in due)
                    sent += 1
        if self.remind_every_us is not None:
            every = self.remind_every_us
            due = [a for a in unacked if t - self._reminded.get((a.id, a.raised_us or 0), a.raised_us or 0) >= every]
            if due and self._allowed(t):
                subject = f"Reminder: {len(due)} alarm{'s' * (len(due) > 1)} still unacknowledged"
                if self._send(self.to, subject, self._alarm_lines(due, t), t):
                    for a in due:
                        self._reminded[a.id, a.raised_us or 0] = t
                    sent += 1
        with self._lock:
            if not self._pending or not self._allowed(t):
                return sent
            batch, overflow = self._pending, self._overflow
            self._pending, self._overflow = [], 0
        if self._send(self.to, *self._events_mail(batch, overflow), t):
            return sent + 1
        with self._lock:  # keep them for the next flush
            room = max(self.max_listed - len(self._pending), 0)
            self._pending = batch[:room] + self._pending
            self._overflow += overflow + len(batch) - len(batch[:room])
        return sent

    def _events_mail(self, batch: list[AlarmEvent], overflow: int) -> tuple[str, str]:
        lines = [f"{iso(e.ts)}  {e.priority.upper():<6}  {e.alarm}  value {_fmt(e.value)}"
                 f"{'  ' + m if (m := self._message(e.alarm)) else ''}" for e in batch]  # fmt: skip
        if len(batch) == 1 and not overflow:
            e = batch[0]
            return f"{e.priority.upper()} alarm: {e.alarm}", "\n".join(lines) + "\n"
        total = len(batch) + overflow
        body = "\n".join(lines)
        if overflow:
            body += (f"\n… and {overflow} more not listed (at most {self.max_listed} per mail, "
                     f"{self.max_per_hour} mails per hour)")  # fmt: skip
        return f"{total} new alarms (digest)", body + "\n"

    def _message(self, alarm_id: str) -> str:
        try:
            return self.service.get(alarm_id).rule.message
        except Exception:  # a rule removed since: no message
            return ""

    def _alarm_lines(self, alarms: Sequence[Alarm], now: int) -> str:
        return "".join(f"{a.rule.priority.value.upper():<6}  {a.id}  raised {iso(a.raised_us or 0)} "
                       f"({(now - (a.raised_us or 0)) / 60e6:.0f} min ago)  value {_fmt(a.value)}"
                       f"{'  ' + a.rule.message if a.rule.message else ''}\n" for a in alarms)  # fmt: skip

    def _send(self, to: Sequence[str], subject: str, body: str, now: int) -> bool:
        self._sent.append(now)
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = f"[twinverse {self.service.plant.id}] {subject}"
        msg["Date"] = formatdate(now / 1e6, usegmt=True)
        msg["Message-ID"] = make_msgid(domain="twinverse")
        msg.set_content(body)
        s = self.server
        try:
            if s.tls == "ssl":
                ctx = s.context or ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=ctx)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with smtp:
                if s.tls == "starttls":
                    smtp.starttls(context=s.context or ssl.create_default_context())
                if s.user:
                    smtp.login(s.user, s.password or "")
                smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("alarm mail to %s via %s:%d failed: %s", ", ".join(to), s.host, s.port, exc)
            self.failed += 1
            return False
        self.delivered += 1
        return True

    # -- thread ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(self.gather_s):
                try:
                    self.flush()
                except Exception:  # the notifier must outlive one bad flush
                    log.exception("alarm mail flush failed")

        self._thread = threading.Thread(target=run, name="twinverse-email", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread (one last flush first) and stop listening."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.server.timeout_s + 5)
            self._thread = None
            self.flush()
        self._unlisten()


def _fmt(v: float | None) -> str:
    return "-" if v is None or v != v else f"{v:g}"
