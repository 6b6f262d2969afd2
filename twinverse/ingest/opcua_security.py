"""OPC UA channel security for the client: Basic256Sha256 (Sign, SignAndEncrypt), certificates, trust.

:func:`secure` prepares an asyncua client before it connects: the policy and mode of
:class:`~twinverse.ingest.opcua_map.Security`, the client's certificate and key (given, or
made once into the ``pki`` directory with asyncua's generator: RSA 2048, SHA-256, the
application URI in the subjectAltName as OPC UA requires), and, when a trust list is given,
a check of the server's certificate: it must be one of the trusted certificates or issued by
one, and valid now, or the session is refused with ``BadCertificateUntrusted`` /
``BadCertificateTimeInvalid``. Without a trust list any server certificate is accepted.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from .opcua_map import Security

__all__ = ["client_certificate", "secure"]

log = logging.getLogger("twinverse.ingest.opcua")


async def secure(client: Any, sec: Security) -> None:
    """Set ``client``'s security from ``sec`` (it fetches the server's endpoints to find its certificate)."""
    from asyncua import ua
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

    client.application_uri = sec.application_uri
    cert, key = sec.certificate, sec.private_key
    if cert is None or key is None:
        cert, key = await client_certificate(sec.pki, sec.application_uri)
    await client.set_security(SecurityPolicyBasic256Sha256, certificate=str(cert), private_key=str(key),
                              private_key_password=sec.private_key_password,
                              mode=getattr(ua.MessageSecurityMode, sec.mode))  # fmt: skip
    if sec.trust:
        client.certificate_validator = await _validator(sec.trust)


async def client_certificate(pki: Path, application_uri: str) -> tuple[Path, Path]:
    """The client certificate and key in ``pki`` (``client.der``, ``client.pem``), made once when absent."""
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    cert, key = pki / "client.der", pki / "client.pem"
    if not (cert.exists() and key.exists()):
        pki.mkdir(parents=True, exist_ok=True)
        await setup_self_signed_certificate(key, cert, application_uri, socket.gethostname(),
                                            [ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "twinverse"})  # fmt: skip
        key.chmod(0o600)
    return cert, key


async def _validator(trust: tuple[Path, ...]) -> Any:
    """A check accepting a server certificate that is in ``trust`` (files, or directories of DER/PEM files)
    or issued by one of them, and valid now; otherwise the session is refused (BadCertificateUntrusted)."""
    from datetime import UTC, datetime

    from asyncua import ua
    from asyncua.common.utils import ServiceError
    from asyncua.ua.status_codes import StatusCodes
    from cryptography import x509

    trusted: list[x509.Certificate] = []
    for place in trust:
        for f in sorted(place.iterdir()) if place.is_dir() else [place]:
            if not f.is_file():
                continue
            data = f.read_bytes()
            try:
                trusted.append(x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                               else x509.load_der_x509_certificate(data))  # fmt: skip
            except ValueError:
                log.warning("%s is not a certificate; not trusted", f)

    def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    async def validate(cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ServiceError(StatusCodes.BadCertificateTimeInvalid)
        if not any(cert == t or issued_by(cert, t) for t in trusted):
            raise ServiceError(StatusCodes.BadCertificateUntrusted)

    return validate
