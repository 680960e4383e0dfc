FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARBITER_DATA_DIR=/data

RUN useradd --create-home --uid 10001 arbiter \
    && mkdir /data && chown arbiter:arbiter /data

WORKDIR /srv/arbiter
COPY pyproject.toml README.md ./
COPY app ./app
COPY connectors ./connectors
COPY graph ./graph
COPY sandbox ./sandbox
RUN pip install --no-cache-dir .

USER arbiter
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["arbiter", "serve", "--host", "0.0.0.0", "--port", "8000"]
