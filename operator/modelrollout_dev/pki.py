"""Certificates for the local control plane, made with openssl: a CA, serving and client certs."""

from __future__ import annotations

import subprocess
from pathlib import Path

APISERVER_SANS = (
    "IP:127.0.0.1",
    "IP:10.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


def make_ca(directory: Path) -> None:
    _openssl("genrsa", "-out", "ca.key", "2048", cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-nodes", "-key", "ca.key", "-days", "3650",
        "-subj", "/CN=modelrollout-local-ca", "-out", "ca.crt", cwd=directory,
    )  # fmt: skip


def make_cert(
    directory: Path, name: str, subject: str, sans: tuple[str, ...] = (), server: bool = False
) -> None:
    """`name.key` and `name.crt` signed by the CA in `directory`."""
    usage = "serverAuth" if server else "clientAuth"
    ext = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    (directory / f"{name}.ext").write_text("\n".join(ext) + "\n")
    _openssl("genrsa", "-out", f"{name}.key", "2048", cwd=directory)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=directory)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "3650", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=directory,
    )  # fmt: skip


def make_service_account_keys(directory: Path) -> None:
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)


def make_all(directory: Path) -> None:
    """Everything the control plane needs; one call per fresh run directory (about 1 s)."""
    directory.mkdir(parents=True, exist_ok=True)
    make_ca(directory)
    make_cert(directory, "apiserver", "/CN=kube-apiserver", APISERVER_SANS, server=True)
    make_cert(directory, "admin", "/O=system:masters/CN=modelrollout-admin")
    make_cert(directory, "controller-manager", "/CN=system:kube-controller-manager")
    make_cert(directory, "scheduler", "/CN=system:kube-scheduler")
    make_cert(directory, "kwok", "/O=system:masters/CN=kwok-controller")
    make_service_account_keys(directory)
