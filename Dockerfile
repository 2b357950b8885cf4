# The bot, its web console, /healthz and /metrics in one process (see README "Deploy").
# Build: docker build -t homecare .   Run with PostgreSQL: docker compose up -d (compose.yaml).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY homecare homecare
COPY scheduler scheduler
COPY db db
COPY bot bot
COPY sandbox sandbox
# requirements.lock pins every package exactly; as a constraint it installs only the runtime
# ones (not the test tools) at those versions.
RUN python -m venv /opt/homecare \
 && /opt/homecare/bin/pip install --constraint requirements.lock .

FROM python:3.11-slim-bookworm
# pg_dump/pg_restore for `homecare backup`/`restore` on PostgreSQL (Debian's 15: use a server
# of major version 15 or older, as compose.yaml does).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system homecare \
 && useradd --system --gid homecare --home-dir /var/lib/homecare --create-home homecare
COPY --from=build /opt/homecare /opt/homecare
COPY deploy/docker-entrypoint.sh /usr/local/bin/homecare-entrypoint
ENV PATH=/opt/homecare/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# SQLite (when no PostgreSQL URL is given) lives in /var/lib/homecare/data: mount a volume there.
WORKDIR /var/lib/homecare
USER homecare
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8090/healthz', timeout=4)"
ENTRYPOINT ["homecare-entrypoint"]
CMD ["run"]
