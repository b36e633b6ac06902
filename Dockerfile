# The ModelRollout operator. Build context: a directory holding dist/wheels/, the pinned wheel set
# (`pip wheel -w dist/wheels -c constraints.txt .` from the repository root, then `docker build .`);
# `make image` does this with buildah, on a Debian base of its own when no registry is reachable.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS install
COPY dist/wheels/ /wheels/
# Exec form throughout: neither stage relies on a shell inside the base.
RUN ["python3", "-m", "venv", "/opt/modelrollout"]
RUN ["/opt/modelrollout/bin/python3", "-m", "pip", "install", "--no-index", "--no-cache-dir", \
     "--find-links", "/wheels", "modelrollout"]

FROM ${BASE}
# A passwd entry for the numeric USER, and USER/HOME in the environment for any other uid a Pod's
# runAsUser picks: kopf names its peering identity after the login name (getpass.getuser()), which
# fails for a uid without either.
RUN ["useradd", "--system", "--uid", "65532", "--user-group", "--no-create-home", "--home-dir", "/tmp", \
     "--shell", "/usr/sbin/nologin", "modelrollout"]
COPY --from=install /opt/modelrollout /opt/modelrollout
# pip compiled the bytecode at install, so nothing is written under the read-only root at run time; TMPDIR is
# the only writable path the operator needs (the chart mounts an emptyDir there).
ENV PATH=/opt/modelrollout/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    HOME=/tmp \
    USER=modelrollout
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/opt/modelrollout/bin/modelrollout-operator"]
CMD ["--all-namespaces"]
