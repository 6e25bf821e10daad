# Truceline API image: `docker build -t truceline .` then
# `docker run -p 8000:8000 -v truceline-data:/data truceline` (SQLite under /data), or
# `docker compose up` for PostgreSQL (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# psycopg (from eventsourcing[postgres]) is the pure-Python build: it needs libpq at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
    && rm -rf /app/src /app/build
# The seed logs, for `docker compose exec api truceline import events/<file>`.
COPY events ./events

# Run as an unprivileged user that owns the data volume (a new named volume takes the
# ownership of the image's /data).
RUN groupadd --system --gid 10001 truceline \
    && useradd --system --uid 10001 --gid truceline --home-dir /app --shell /usr/sbin/nologin truceline \
    && mkdir -p /data \
    && chown truceline:truceline /data

ENV TRUCELINE_DATABASE_URL=sqlite:////data/truceline.db
VOLUME ["/data"]
USER truceline

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/v1/health', timeout=3).status == 200 else 1)"]
CMD ["truceline", "serve", "--host", "0.0.0.0", "--port", "8000"]
