# The image of the Casework processes: `casework web`, `casework relay`, `casework projections`
# (docker-compose.yml picks the command). Build: docker build -t casework .
#
# No secret is in the image: CASEWORK_SECRET_KEY and CASEWORK_MASTER_KEY come from the
# environment at run time (docker-compose.yml), and var/ (where an SQLite store keeps a
# generated master key) is never copied in (.dockerignore). A new master key, to keep
# offline before first use: docker run --rm casework casework keys new

# Front-end libraries (htmx, Pico CSS) are served from node_modules, never from a CDN.
FROM node:22-bookworm-slim AS web-assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# psycopg runs on the system libpq (its pure-Python implementation), which slim images lack.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/casework --shell /usr/sbin/nologin casework

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"

COPY . .
COPY --from=web-assets /src/node_modules ./node_modules
# Editable, so the code runs from /app and finds node_modules/ and templates next to it.
# The gettext catalogs are compiled here: the app cannot write them as the casework user.
RUN pip install --no-deps -e . \
    && pybabel compile -d app/translations \
    && mkdir -p var \
    && chown casework:casework var

USER casework
EXPOSE 8000
CMD ["casework", "web"]
