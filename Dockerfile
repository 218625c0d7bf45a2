# The geoservice API image (used by docker-compose.yml with an external PostGIS).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY geoservice ./geoservice
COPY migrations ./migrations
COPY layers ./layers
COPY web ./web
RUN pip install --no-cache-dir -e . && (cd web && npm ci --no-audit --no-fund --loglevel=error)
COPY --from=shared data /shared/data
ENV GEOSERVICE_SHARED_DATA_DIR=/shared/data
EXPOSE 8000
CMD ["geoservice", "serve"]
