"""Payslips over STARTTLS with login, to aiosmtpd presenting a certificate from a private CA:
verified against that CA, the password sent only inside TLS, and refused without the CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest

from backroom.bots.payslips import Payslips, PayslipsConfig, PayslipsParams
from backroom.bots.sdk.testing import make_context, make_params
from tests.fixtures.payslips import make_people, write_payroll_xlsx, write_roster


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_smtp(tmp_path: Path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from backroom.sandbox.server import free_port

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    received: list[tuple[str, bool]] = []

    class Handler:
        async def handle_DATA(self, _server, session, envelope):
            received.append((envelope.rcpt_tos[0], session.ssl is not None))
            return "250 OK"

    def authenticator(_server, session, _envelope, mechanism, auth_data):
        ok = auth_data.login == b"payroll" and auth_data.password == b"s3cret-pass" and session.ssl is not None
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        yield port, cert, received
    finally:
        controller.stop()


def _run(tmp_path: Path, port: int, **options: object):
    config = PayslipsConfig(workers=1)
    ctx = make_context(
        tmp_path,
        "payslips",
        systems={
            "mail": {
                "kind": "smtp",
                "url": f"smtp://127.0.0.1:{port}",
                "starttls": True,
                "username": "payroll",
                "password": "env:SMTP_PASSWORD",
                **options,
            }
        },
        config=config,
        environ={"SMTP_PASSWORD": "s3cret-pass"},
        clock=lambda: dt.datetime(2026, 3, 31, 2, tzinfo=dt.UTC),
    )
    try:
        return Payslips().run(
            ctx, make_params(PayslipsParams, ctx, payroll="p.xlsx", roster="r.xlsx", month="2026-03-01")
        )
    finally:
        ctx.close()


def test_starttls_with_login_verified_against_the_private_ca(tmp_path: Path, tls_smtp) -> None:
    port, cert, received = tls_smtp
    people = make_people(2, PayslipsConfig())
    write_payroll_xlsx(tmp_path / "p.xlsx", people)
    write_roster(tmp_path / "r.xlsx", people)

    refused = _run(tmp_path, port)  # the system's CA store does not know this certificate
    assert refused.counts["failed"] == 2 and received == []

    result = _run(tmp_path, port, ca_file=str(cert))
    assert result.counts["sent"] == 2, result.summary
    assert sorted(received) == sorted((p.email, True) for p in people)
