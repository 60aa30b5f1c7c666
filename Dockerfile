# One image per service, from one Dockerfile: `docker build --build-arg APP=auth .`
# Stages: the repository with dev dependencies, the test image of `docker compose run tests` on top
# of it, and the esbuild bundle, then production dependencies only, then a slim runtime that runs as the
# unprivileged `node` user. The base images' own CA store is what npm trusts.

FROM node:24-bookworm-slim AS source
# The test suite starts private redis-server processes (Redis outage tests); nothing else it runs
# comes from outside node_modules. Kept in the build image only, never in a runtime image.
RUN apt-get update && apt-get install -y --no-install-recommends redis-server && rm -rf /var/lib/apt/lists/*
WORKDIR /repo
COPY package.json package-lock.json ./
# Install scripts are not needed (native addons ship prebuilt in their packages) and are not trusted.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json nx.json eslint.config.js ./
COPY scripts ./scripts
COPY libs ./libs
COPY apps ./apps
COPY infra ./infra

# What the suite reads beyond the code: infra's tests keep compose, .env.example and the README's
# configuration table in step. A stage of its own, so a README edit rebuilds no service image.
FROM source AS tests
COPY docker-compose.yml .env.example README.md ./

FROM source AS build
ARG APP
RUN test -n "$APP" && node scripts/build-app.mjs "$APP"

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies' source maps go: with --enable-source-maps Node parses the map of every module it loads
# (TypeORM alone ships 981, ~9 MB of memory per service); the services' own bundle keeps its map.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
  && find node_modules -name '*.map' -type f -delete

FROM node:24-bookworm-slim AS runtime
# Owned by `node` so a volume mounted here starts writable by it (compose keeps auth's dev-only key here).
RUN install -d -o node -g node -m 0700 /var/lib/shop
ARG APP
ENV NODE_ENV=production
# V8 grows the young generation to 16 MB per semi-space while a service starts and keeps it: capped
# at 1 MB, a service idles at ~25-30 MB less (npm run bench prints idle RSS) for no measurable CPU
# per request. scripts/stack.ts runs compiled services with the same setting.
ENV NODE_OPTIONS=--max-semi-space-size=1
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /repo/dist/apps/${APP} ./dist
USER node
# Slim images have no curl, and a node process per probe costs ~0.1 s of CPU: bash's /dev/tcp asks
# the service's /health/ready for a few milliseconds instead.
HEALTHCHECK --interval=5s --timeout=3s --start-period=120s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/$PORT && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ \"$status\" = 200 ]"]
CMD ["node", "--enable-source-maps", "dist/main.js"]
