# syntax=docker/dockerfile:1
# kubeweft's image: a virtualenv with the package and its runtime dependencies (pinned
# by requirements.lock), copied into a slim Python base that runs as a non-root user.

FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The lock pins the whole tree, dev tools included; used as constraints it pins the
# runtime dependencies without installing the dev ones.
COPY requirements.lock ./
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --constraint requirements.lock . \
    && python -m compileall -q /opt/venv/lib


FROM python:3.11-slim

LABEL org.opencontainers.image.title="kubeweft" \
      org.opencontainers.image.description="Kubernetes models and their APIs in the kubebuilder pattern, in Python." \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KUBEWEFT_STATE_DIR=/tmp/kubeweft

COPY --from=builder /opt/venv /opt/venv

# 65532 is the conventional "nonroot" uid/gid of distroless images; numeric so that
# Kubernetes' runAsNonRoot can verify it without an /etc/passwd lookup.
USER 65532:65532
WORKDIR /tmp

# 8080: REST API; 8081: /healthz, /readyz, /metrics.
EXPOSE 8080 8081

ENTRYPOINT ["kubeweft"]
CMD ["run"]
