"""`make image`: the operator's container image, built with buildah from the project's pinned wheels.

No image registry is reachable from this machine (or from CI), so the base is a Debian root made
with mmdebstrap from Debian's packages and passed to the Dockerfile as `BASE`; users building with
docker get the public slim Python image instead. Pip cannot reach the package registry from inside
a build container, so the wheel set is built on the host and the Dockerfile installs it with
`--no-index`. Every step is cached under the cache directory: the base tar by its package list, the
dependency wheels by constraints.txt and pyproject.toml, and the image by the hash of the whole
wheel set including the project's own source, so an unchanged tree costs one `buildah inspect`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .tools import cache_dir, repo_root

IMAGE_REPOSITORY = "localhost/modelrollout-operator"
BASE_REPOSITORY = "localhost/modelrollout-python-base"
LATEST_ARCHIVE = "modelrollout-operator-dev.oci.tar"
"""A link in the archives directory to the newest build's archive: a path that never changes."""


class ImageError(RuntimeError):
    """A build step failed; the message carries the step's own output."""


@dataclass(frozen=True)
class ImageSettings:
    suite: str = "bookworm"
    """Debian release of the local base; its python3 must match the host's, whose wheels it installs."""
    base_packages: tuple[str, ...] = ("python3", "python3-venv", "ca-certificates")
    """What the local base holds: the interpreter, venv with its bundled pip, and the CA bundle."""
    cache: Path = field(default_factory=cache_dir)
    """Base tars, wheel sets and OCI archives live under `<cache>/image/`."""
    repo: Path = field(default_factory=repo_root)
    """The source tree whose wheel is built (and whose Dockerfile is used)."""

    @property
    def root(self) -> Path:
        return self.cache / "image"


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    """`localhost/modelrollout-operator:<wheel-set-hash>`; the same image is also tagged `:dev`."""
    archive: Path
    """OCI archive of the image, named `localhost/modelrollout-operator:dev` inside."""
    built: bool
    """False when the tag already existed and nothing was rebuilt."""


def buildah_env() -> dict[str, str]:
    """Chroot isolation: user and network namespaces are unavailable here and in CI (and a `RUN`
    or a test's `buildah run` then shares the host's network)."""
    return {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def _run(argv: list[str], what: str) -> str:
    if shutil.which(argv[0]) is None:
        raise ImageError(f"{argv[0]} is not installed (run `make deps`, which installs it with apt-get)")
    proc = subprocess.run(argv, capture_output=True, text=True, env=buildah_env())
    if proc.returncode != 0:
        raise ImageError(
            f"{what} failed ({' '.join(argv[:4])} ...):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return str(proc.stdout)


def image_exists(tag: str) -> bool:
    proc = subprocess.run(
        ["buildah", "inspect", "--type", "image", tag], capture_output=True, env=buildah_env()
    )  # fmt: skip
    return proc.returncode == 0


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build at a time per cache: parallel tests and a `make image` share the same steps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def base_image(settings: ImageSettings) -> str:
    """The Debian base as a local image, made from a cached mmdebstrap tar (about 4 minutes cold)."""
    key = _digest(settings.suite.encode(), " ".join(sorted(settings.base_packages)).encode())
    tag = f"{BASE_REPOSITORY}:{settings.suite}-{key}"
    if image_exists(tag):
        return tag
    tar = settings.root / "base" / f"debian-{settings.suite}-{key}.tar"
    if not tar.exists():
        tar.parent.mkdir(parents=True, exist_ok=True)
        partial = tar.with_suffix(".partial")
        _run(
            ["mmdebstrap", "--variant=minbase", "--format=tar", "--quiet", f"--include={','.join(settings.base_packages)}",
             settings.suite, str(partial)],
            "mmdebstrap of the base",
        )  # fmt: skip
        partial.rename(tar)
    container = _run(["buildah", "from", "-q", "scratch"], "buildah from scratch").strip()
    try:
        _run(["buildah", "add", "-q", container, str(tar), "/"], "buildah add of the base tar")
        _run(["buildah", "commit", "-q", container, tag], "buildah commit of the base")
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, env=buildah_env())
    return tag


def dependency_wheels(settings: ImageSettings) -> Path:
    """The pinned runtime dependencies as wheels, with a requirements.txt naming each (the
    Dockerfile installs them as their own layer), built once per constraints.txt and pyproject.toml."""
    key = _digest(
        (settings.repo / "constraints.txt").read_bytes(), (settings.repo / "pyproject.toml").read_bytes()
    )
    wheels = settings.root / "wheels" / key
    if (wheels / "requirements.txt").exists():
        return wheels
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=wheels.parent, prefix=f"{key}-partial-"))
    try:
        _pip_wheel(settings, partial, "-c", str(settings.repo / "constraints.txt"))
        for own in partial.glob("modelrollout-*.whl"):
            own.unlink()  # the project's own wheel is built per source tree, in write_context
        pins = ("==".join(wheel.name.split("-")[:2]) for wheel in sorted(partial.glob("*.whl")))
        (partial / "requirements.txt").write_text("".join(f"{pin}\n" for pin in pins))
        partial.chmod(0o755)
        partial.rename(wheels)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return wheels


def _pip_wheel(settings: ImageSettings, out: Path, *flags: str) -> None:
    with tempfile.TemporaryDirectory() as build:  # setuptools writes build/ into the tree otherwise
        source = Path(build) / "src"
        shutil.copytree(settings.repo, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
        _run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(out), *flags, str(source)], "pip wheel")


_NOT_SOURCE = (
    ".venv",
    ".git",
    "__pycache__",
    "build",
    "dist",
    ".run",
    "*.egg-info",
    ".*_cache",
    ".hypothesis",
)


def source_files(settings: ImageSettings) -> list[Path]:
    """What goes into the project's wheel or the image: a change to any of them is a new image."""
    files = [settings.repo / name for name in ("pyproject.toml", "README.md", "Dockerfile", ".dockerignore")]
    for path in sorted((settings.repo / "operator").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
            files.append(path)
    return files


def wheel_set_hash(settings: ImageSettings, base: str, deps: Path) -> str:
    """Hash of the base, every dependency wheel's bytes and the project's source (wheels of the
    project itself are not byte-reproducible, their source is)."""
    h = hashlib.sha256(base.encode())
    for wheel in sorted(deps.glob("*.whl")):
        h.update(wheel.name.encode() + hashlib.sha256(wheel.read_bytes()).digest())
    for path in source_files(settings):
        h.update(str(path.relative_to(settings.repo)).encode() + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:12]


def build_image(settings: ImageSettings | None = None) -> BuiltImage:
    """Build (or find) the image for the current tree and write its OCI archive."""
    settings = settings or ImageSettings()
    if shutil.which("buildah") is None:
        raise ImageError("buildah is not installed (run `make deps`, which installs it with apt-get)")
    with _locked(settings.root / "lock"):
        base = base_image(settings)
        deps = dependency_wheels(settings)
        key = wheel_set_hash(settings, base, deps)
        tag = f"{IMAGE_REPOSITORY}:{key}"
        archive = settings.root / "archives" / f"modelrollout-operator-{key}.oci.tar"
        built = not image_exists(tag)
        if built:
            _build(settings, base, deps, tag)
        _run(["buildah", "tag", tag, f"{IMAGE_REPOSITORY}:dev"], "buildah tag :dev")
        if not archive.exists():
            archive.parent.mkdir(parents=True, exist_ok=True)
            partial = archive.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            # The full name inside the archive lets `kind load image-archive` / `docker load` name it.
            _run(
                ["buildah", "push", "-q", tag, f"oci-archive:{partial}:{IMAGE_REPOSITORY}:dev"],
                "buildah push",
            )
            partial.rename(archive)
        latest = archive.parent / LATEST_ARCHIVE
        latest.unlink(missing_ok=True)
        latest.symlink_to(archive.name)  # a path that stays the same, for the README's `kind load`
        _prune(settings)
        return BuiltImage(tag=tag, archive=archive, built=built)


KEEP = 3
"""Images (and archives) of this many recent trees stay cached: each is about 650 MB + 190 MB."""


def _prune(settings: ImageSettings) -> None:
    archives = sorted(
        (
            p
            for p in (settings.root / "archives").glob("modelrollout-operator-*.oci.tar")
            if not p.is_symlink()
        ),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in archives[KEEP:]:
        key = old.name.removeprefix("modelrollout-operator-").removesuffix(".oci.tar")
        old.unlink(missing_ok=True)
        subprocess.run(
            ["buildah", "rmi", f"{IMAGE_REPOSITORY}:{key}"], capture_output=True, env=buildah_env()
        )


def write_context(settings: ImageSettings, deps: Path, context: Path) -> Path:
    """The Dockerfile's build context: wheels/deps/ (hard links into the cache where it can) and
    wheels/project/."""
    shutil.rmtree(context / "wheels", ignore_errors=True)
    (context / "wheels" / "deps").mkdir(parents=True)
    for path in [*deps.glob("*.whl"), deps / "requirements.txt"]:
        try:
            os.link(path, context / "wheels" / "deps" / path.name)
        except OSError:  # another filesystem than the cache's
            shutil.copy2(path, context / "wheels" / "deps" / path.name)
    _pip_wheel(settings, context / "wheels" / "project", "--no-deps")
    shutil.copy(settings.repo / ".dockerignore", context / ".dockerignore")
    return context


def _build(settings: ImageSettings, base: str, deps: Path, tag: str) -> None:
    with tempfile.TemporaryDirectory(dir=settings.root) as tmp:
        context = write_context(settings, deps, Path(tmp))
        # --layers: the dependency layers are reused while only the project's wheel changed.
        _run(
            ["buildah", "bud", "-q", "--layers", "--build-arg", f"BASE={base}",
             "-f", str(settings.repo / "Dockerfile"), "-t", tag, str(context)],
            "buildah bud",
        )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelrollout_dev.image", description=__doc__)
    parser.add_argument(
        "--context",
        type=Path,
        metavar="DIR",
        help="only write the build context for `docker build -f Dockerfile DIR` (no buildah needed)",
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        if args.context is not None:
            settings = ImageSettings()
            context = write_context(settings, dependency_wheels(settings), args.context.resolve())
            print(f"build context in {context}: docker build -f {settings.repo / 'Dockerfile'} {context}")
            return 0
        image = build_image()
    except ImageError as error:
        print(f"make image: {error}", file=sys.stderr)
        return 1
    state = "built" if image.built else "up to date (cached by the wheel set's hash)"
    print(
        f"image {image.tag} (also {IMAGE_REPOSITORY}:dev) {state} in {time.monotonic() - t0:.0f}s\n"
        f"OCI archive: {image.archive}\n"
        f"  kind load image-archive --name modelrollout {image.archive.parent / LATEST_ARCHIVE}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
