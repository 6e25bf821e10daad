# Truceline API image: `docker build -t truceline .` then
# `docker run -p 8000:8000 -v truceline-data:/app/data truceline` (SQLite under /app/data),
# or `docker compose up -d` for PostgreSQL (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# No system libpq: psycopg[binary] (pyproject.toml) ships its own.
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
    && rm -rf /app/src /app/build
# The seed logs, for `docker compose run --rm api truceline import events/<file>`.
COPY events ./events

# Run as an unprivileged user that owns the data volume and nothing else: /app stays
# root's. A new named volume takes the ownership and mode of the image's /app/data, and
# the relative defaults (data/...) of every TRUCELINE_*_PATH land in it too.
RUN groupadd --system --gid 10001 truceline \
    && useradd --system --uid 10001 --gid truceline --home-dir /app --shell /usr/sbin/nologin truceline \
    && install -d -o truceline -g truceline -m 0700 /app/data

ENV TRUCELINE_DATABASE_URL=sqlite:////app/data/truceline.db
VOLUME ["/app/data"]
USER truceline

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/v1/health', timeout=3).status == 200 else 1)"]
# The checkpoints' signing key is made on the volume at the first start (mode 0600, never
# replaced), as `make run` does; exec, so the server is PID 1 and gets `docker stop`'s SIGTERM.
CMD ["sh", "-c", "truceline signing-key create --if-missing && exec truceline serve --host 0.0.0.0 --port 8000"]
