FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INSPECTORATE_DATA_DIR=/app/var

WORKDIR /app
COPY . .
RUN pip install -c constraints.txt . \
 && useradd --system --create-home --uid 10001 inspectorate \
 && mkdir -p /app/var \
 && chown inspectorate: /app/var

USER inspectorate
EXPOSE 8000
CMD ["inspectorate", "serve", "--host", "0.0.0.0"]
