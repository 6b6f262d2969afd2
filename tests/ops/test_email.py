"""Alarm e-mails against a real local SMTP server (aiosmtpd): new alarms, digests, escalation, reminders, TLS."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (dev extra) runs the local SMTP server")
from aiosmtpd.controller import Controller

from twinverse.config import Settings
from twinverse.core import make_batch
from twinverse.model import loads_plant
from twinverse.model.rules import AlarmPriority
from twinverse.ops import AlarmService, EmailNotifier, Event, SmtpServer
from twinverse.platform import Platform

S = 1_000_000
T0 = 1_700_000_000 * S
PLANT = """
plant: p
types:
  m:
    signals:
      x: {unit: m}
    alarms:
      hi: {kind: hi, signal: x, limit: 10, priority: high, message: x above 10}
      lo: {kind: lo, signal: x, limit: 0, priority: low}
twins:
  - {id: m, type: m, count: 30}
"""


class Inbox:
    """Handler of the local server: every mail received, parsed."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def seen(self) -> list[tuple[list[str], str]]:
        return [(to, str(m["Subject"])) for to, m in self.mails]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    port = _free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    yield box, port
    ctl.stop()


def text(msg: EmailMessage) -> str:
    return str(msg.get_content()).replace("\r\n", "\n")


def feed(svc: AlarmService, twins: range, value: float, at: int) -> None:
    sids = np.array([svc.plant.signals.sid(f"p/m{i}", "x") for i in twins], np.int32)
    svc.on_batch(make_batch(np.full(len(sids), at, np.int64), sids, np.full(len(sids), value)))


def test_alarms_digests_escalation_and_reminders(inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    now = [T0]
    svc = AlarmService(loads_plant(PLANT), clock=lambda: now[0])
    mailer = EmailNotifier(svc, SmtpServer("127.0.0.1", port), sender="twin@plant", to=["ops@plant"],
                           min_priority=AlarmPriority.HIGH, escalate_after_s=900, escalate_to=["boss@plant"],
                           remind_every_s=600, max_per_hour=3, max_listed=5, clock=lambda: now[0])  # fmt: skip

    # one high alarm: one mail; the low alarm of the same sample is below min_priority
    feed(svc, range(1, 2), -5.0, T0)  # lo raises (low: not mailed)
    feed(svc, range(1, 2), 50.0, T0)  # hi raises
    assert mailer.flush(T0) == 1
    to, msg = box.mails[0]
    assert (to, msg["Subject"], msg["From"]) == (["ops@plant"], "[twinverse p] HIGH alarm: p/m1:hi", "twin@plant")
    assert text(msg) == "2023-11-14T22:13:20Z  HIGH    p/m1:hi  value 50  x above 10\n"

    # a flood of 29 alarms in one flush: one digest listing 5 and counting the other 24
    now[0] = T0 + 60 * S
    feed(svc, range(2, 31), 50.0, now[0])
    assert mailer.flush() == 1
    to, msg = box.mails[1]
    assert msg["Subject"] == "[twinverse p] 29 new alarms (digest)"
    body = text(msg).splitlines()
    assert [line.split()[2] for line in body[:5]] == ["p/m2:hi", "p/m3:hi", "p/m4:hi", "p/m5:hi", "p/m6:hi"]
    assert body[5] == "… and 24 more not listed (at most 5 per mail, 3 mails per hour)"
    assert mailer.flush() == 0  # nothing new

    # a reminder after 600 s for the alarm raised at T0 (the others are due at T0 + 660 s)
    now[0] = T0 + 600 * S
    assert mailer.flush() == 1
    to, msg = box.mails[2]
    assert (to, msg["Subject"]) == (["ops@plant"], "[twinverse p] Reminder: 1 alarm still unacknowledged")
    assert text(msg).startswith("HIGH    p/m1:hi  raised 2023-11-14T22:13:20Z (10 min ago)  value 50")

    # 3 mails this hour: the escalation due at 900 s waits for the budget
    now[0] = T0 + 900 * S
    assert mailer.flush() == 0
    svc.act("p/m1:hi", Event.ACK, user="otto")  # acknowledged: neither escalated nor reminded any more
    # the first mail left the hour: one escalation to the second list, with every alarm due
    now[0] = T0 + 3601 * S
    assert mailer.flush() == 1
    to, msg = box.mails[3]
    assert (to, msg["Subject"]) == (["boss@plant"], "[twinverse p] ESCALATION: 29 alarms unacknowledged for 15 min")
    assert "p/m1:hi" not in text(msg) and text(msg).count("\n") == 29
    # the reminders wait for the next free mail (T0 + 60 s left the hour at T0 + 3660 s): one mail for all 29
    now[0] = T0 + 3660 * S
    assert mailer.flush() == 1
    assert box.seen()[4] == (["ops@plant"], "[twinverse p] Reminder: 29 alarms still unacknowledged")
    assert mailer.flush(T0 + 4259 * S) == 0  # escalated once per raise; reminders again only 600 s later
    assert mailer.flush(T0 + 4260 * S) == 1
    assert box.seen()[5] == (["ops@plant"], "[twinverse p] Reminder: 29 alarms still unacknowledged")
    assert (mailer.delivered, mailer.failed) == (6, 0)
    mailer.close()


def test_a_failed_delivery_keeps_the_alarms_for_the_next_flush(inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    svc = AlarmService(loads_plant(PLANT), clock=lambda: T0)
    mailer = EmailNotifier(svc, SmtpServer("127.0.0.1", _free_port(), timeout_s=2), sender="t@p", to=["o@p"],
                           clock=lambda: T0)  # fmt: skip
    feed(svc, range(1, 3), 50.0, T0)
    assert mailer.flush() == 0 and mailer.failed == 1
    mailer.server = SmtpServer("127.0.0.1", port)
    assert mailer.flush(T0 + S) == 1
    assert box.seen() == [(["o@p"], "[twinverse p] 2 new alarms (digest)")]
    mailer.close()


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=36500))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))  # fmt: skip
    crt, pem = tmp / "smtp.crt", tmp / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))  # fmt: skip
    return crt, pem


def test_starttls(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    crt, pem = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(crt, pem)
    box, port = Inbox(), _free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True)
    ctl.start()
    try:
        svc = AlarmService(loads_plant(PLANT), clock=lambda: T0)
        client_ctx = ssl.create_default_context(cafile=str(crt))
        plain = EmailNotifier(svc, SmtpServer("127.0.0.1", port), sender="t@p", to=["o@p"], clock=lambda: T0)
        tls = EmailNotifier(svc, SmtpServer("127.0.0.1", port, "starttls", context=client_ctx), sender="t@p",
                            to=["o@p"], clock=lambda: T0)  # fmt: skip
        feed(svc, range(1, 2), 50.0, T0)
        assert plain.flush() == 0 and plain.failed == 1  # the server refuses mail before STARTTLS
        assert tls.flush() == 1
        assert box.seen() == [(["o@p"], "[twinverse p] HIGH alarm: p/m1:hi")]
        plain.close()
        tls.close()
    finally:
        ctl.stop()


def test_settings_make_the_platform_mail(tmp_path: Path, inbox: tuple[Inbox, int]) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    _, port = inbox
    p = Platform(Settings(data_dir=tmp_path / "d", plant=f, store=":memory:", alarm_smtp_host="127.0.0.1",
                          alarm_smtp_port=port, alarm_email_to=["ops@plant"], alarm_email_min_priority="low",
                          alarm_email_escalate_after_s=60, alarm_email_max_per_hour=5))  # fmt: skip
    try:
        assert p.mailer is not None
        assert (p.mailer.to, p.mailer.escalate_to, p.mailer.min_rank, p.mailer.max_per_hour) == (
            ["ops@plant"], ["ops@plant"], 0, 5)  # fmt: skip
    finally:
        p.stop()


def test_login_with_the_password_setting(tmp_path: Path) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=True)

    box, port = Inbox(), _free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)
    ctl.start()
    f = tmp_path / "p.yaml"
    f.write_text(PLANT)
    try:
        p = Platform(Settings(data_dir=tmp_path / "d", plant=f, store=":memory:", alarm_smtp_host="127.0.0.1",
                              alarm_smtp_port=port, alarm_smtp_user="twin", alarm_smtp_password="s3cret",
                              alarm_email_to=["ops@plant"]))  # fmt: skip
        assert p.mailer is not None and "s3cret" not in repr(p.settings)
        feed(p.alarms, range(1, 2), 50.0, T0)
        assert p.mailer.flush(T0) == 1
        p.stop()
        assert logins == [(b"twin", b"s3cret")]
        assert box.seen() == [(["ops@plant"], "[twinverse p] HIGH alarm: p/m1:hi")]
    finally:
        ctl.stop()
