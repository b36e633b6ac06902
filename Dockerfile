# The ModelRollout operator. Build context: a directory holding wheels/deps/ (the pinned runtime
# dependencies as wheels, with a requirements.txt naming them) and wheels/project/ (the operator's
# own wheel); `make image-context` writes it to build/image-context, then
#   docker build -f Dockerfile build/image-context
# `make image` builds the same with buildah, on a Debian base of its own when no registry is reachable.
# The dependencies and the project are separate layers, so a change to the operator's source
# rebuilds only the small last one.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS deps
COPY wheels/deps/ /wheels/
# Exec form throughout: no stage relies on a shell inside the base.
RUN ["python3", "-m", "venv", "/opt/modelrollout"]
RUN ["/opt/modelrollout/bin/python3", "-m", "pip", "install", "--no-index", "--no-cache-dir", \
     "--find-links", "/wheels", "--requirement", "/wheels/requirements.txt"]

FROM ${BASE}
# A passwd entry for the numeric USER, and USER/HOME in the environment for any other uid a Pod's
# runAsUser picks: kopf names its peering identity after the login name (getpass.getuser()), which
# fails for a uid without either.
RUN ["useradd", "--system", "--uid", "65532", "--user-group", "--no-create-home", "--home-dir", "/tmp", \
     "--shell", "/usr/sbin/nologin", "modelrollout"]
COPY --from=deps /opt/modelrollout /opt/modelrollout
COPY wheels/project/ /opt/modelrollout-wheel/
RUN ["/opt/modelrollout/bin/python3", "-m", "pip", "install", "--no-index", "--no-deps", "--no-cache-dir", \
     "--find-links", "/opt/modelrollout-wheel", "modelrollout"]
# pip compiled the bytecode at install, so nothing is written under the read-only root at run
# time; TMPDIR is the only writable path the operator needs (the chart mounts an emptyDir there).
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
