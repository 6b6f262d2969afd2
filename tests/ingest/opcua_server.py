"""A real asyncua server on 127.0.0.1: a small machine-like address space, in its own thread.

``Objects/2:Line1`` (a folder) holds two machine objects, ``2:Filler`` and ``2:Capper``, each
with variables of several types under string NodeIds (``ns=2;s=Filler.Speed``) so that a
restarted server has the same ids; a ``2:Reset`` method; and a ``2:Plc`` object with a
deeper ``2:Motor`` object (for browse depth).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole

from ..conftest import free_port, wait_port

NS_URI = "urn:twinverse:test"
#: Machine → {variable: (VariantType, initial value)}
MACHINES: dict[str, dict[str, tuple[ua.VariantType, Any]]] = {
    "Filler": {"Speed": (ua.VariantType.Double, 612.5), "Count": (ua.VariantType.UInt32, 123456),
               "Running": (ua.VariantType.Boolean, True), "Temperature": (ua.VariantType.Float, 68.0),
               "Mode": (ua.VariantType.Int16, -3)},
    "Capper": {"Speed": (ua.VariantType.Double, 598.0), "Count": (ua.VariantType.UInt32, 99),
               "Running": (ua.VariantType.Boolean, False), "Temperature": (ua.VariantType.Float, 50.0),
               "Mode": (ua.VariantType.Int16, 2)},
}


class _Users:
    """Username and password identities (no anonymous access)."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User)
        return None


def _pinned(trusted: list[bytes]) -> Any:
    """A server-side check: only these DER client certificates may open a secure channel."""
    from asyncua.common.utils import ServiceError
    from cryptography.hazmat.primitives.serialization import Encoding

    async def validate(cert: Any, app: Any) -> None:
        if cert.public_bytes(Encoding.DER) not in trusted:
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    return validate


async def make_certificate(directory: Path, name: str, uri: str, server: bool) -> tuple[Path, Path]:
    """A self-signed certificate (DER) and key (PEM) for an OPC UA application, made here for a test."""
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.der", directory / f"{name}.pem"
    use = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    await setup_self_signed_certificate(key, cert, uri, socket.gethostname(), use, {"commonName": name})
    return cert, key


@dataclass
class OpcuaServer:
    """Start, stop and restart (same port, same NodeIds); write values and StatusCodes."""

    port: int = field(default_factory=free_port)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: Server | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None
    ns: int = 2
    users: dict[str, str] | None = None  # username → password; None: anonymous access
    #: Security policies offered (None: only NoSecurity), with the server's certificate and key.
    policies: list[Any] | None = None
    certificate: Path | None = None
    private_key: Path | None = None
    #: Client certificates (DER files) the server accepts; None: any client certificate.
    trusted_clients: list[Path] | None = None
    application_uri: str = "urn:twinverse:test:server"
    #: Namespaces registered before the test's own (which then has a higher index than 2).
    extra_namespaces: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}"

    async def _build(self) -> Server:
        server = Server(user_manager=_Users(self.users) if self.users is not None else None)
        await server.init()
        if self.users is not None:
            server.set_security_IDs(["Username"])
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}")
        server.set_server_name("twinverse test server")
        if self.policies is not None:
            assert self.certificate is not None and self.private_key is not None
            await server.set_application_uri(self.application_uri)
            server.set_security_policy(self.policies)
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
            if self.trusted_clients is not None:
                server.set_certificate_validator(_pinned([p.read_bytes() for p in self.trusted_clients]))
        for uri in self.extra_namespaces:
            await server.register_namespace(uri)
        self.ns = await server.register_namespace(NS_URI)
        line = await server.nodes.objects.add_folder(ua.NodeId("Line1", self.ns), ua.QualifiedName("Line1", self.ns))
        for machine, variables in MACHINES.items():
            obj = await line.add_object(ua.NodeId(machine, self.ns), ua.QualifiedName(machine, self.ns))
            for var, (vtype, value) in variables.items():
                v = await obj.add_variable(ua.NodeId(f"{machine}.{var}", self.ns), ua.QualifiedName(var, self.ns),
                                           ua.Variant(value, vtype))
                if var != "Count":  # a counter is read-only: writing it is refused (BadNotWritable)
                    await v.set_writable()
            await obj.add_method(ua.NodeId(f"{machine}.Reset", self.ns), ua.QualifiedName("Reset", self.ns),
                                 lambda parent: [], [], [])
        plc = await server.nodes.objects.add_object(ua.NodeId("Plc", self.ns), ua.QualifiedName("Plc", self.ns))
        motor = await plc.add_object(ua.NodeId("Plc.Motor", self.ns), ua.QualifiedName("Motor", self.ns))
        await motor.add_variable(ua.NodeId("Plc.Motor.Current", self.ns), ua.QualifiedName("Current", self.ns),
                                 ua.Variant(4.25, ua.VariantType.Double))
        return server

    def start(self) -> OpcuaServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)

            async def main() -> None:
                self._stop = asyncio.Event()
                self._server = await self._build()
                async with self._server:
                    ready.set()
                    await self._stop.wait()

            self._loop.run_until_complete(main())

        self._thread = threading.Thread(target=run, name=f"opcua-server-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(30)
        wait_port(self.port, 30)
        return self

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def write(self, nodeid: str, value: Any, vtype: ua.VariantType, status: int = ua.StatusCodes.Good) -> None:
        """Write a value (and StatusCode) with a source timestamp of now."""
        assert self._server is not None
        dv = ua.DataValue(ua.Variant(value, vtype), StatusCode=ua.StatusCode(status),
                          SourceTimestamp=datetime.now(UTC), ServerTimestamp=datetime.now(UTC))
        self._call(self._server.write_attribute_value(ua.NodeId.from_string(f"ns={self.ns};s={nodeid}"), dv))

    def read(self, nodeid: str) -> Any:
        """A variable's value as the server holds it."""
        assert self._server is not None
        node = self._server.get_node(ua.NodeId.from_string(f"ns={self.ns};s={nodeid}"))
        return self._call(node.read_value())

    def stop(self) -> None:
        if self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)
        self._loop.close()
        self._loop = self._server = self._thread = self._stop = None
