# 议事（yishi）服务镜像：构建阶段用编译器打出 wheel，运行阶段只装 wheel（无编译器、非 root）。
#   docker build -t yishi .
#   docker compose up -d            （见 compose.yaml 与 README「部署」）
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# Compilers for any dependency without a wheel for this platform; they stay in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    YISHI_HTTP__HOST=0.0.0.0 \
    YISHI_HTTP__PORT=8080
RUN groupadd --system yishi \
    && useradd --system --gid yishi --home-dir /var/lib/yishi --shell /usr/sbin/nologin yishi \
    && install -d -o yishi -g yishi -m 0750 /var/lib/yishi
COPY --from=builder /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --find-links=/tmp/wheels yishi \
    && rm -rf /tmp/wheels
USER yishi
# The working directory is the data volume: the default SQLite file (data/yishi.db), its key
# file, and config.toml when one is mounted there.
WORKDIR /var/lib/yishi
VOLUME ["/var/lib/yishi"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('YISHI_HTTP__PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["yishi"]
CMD ["serve"]
