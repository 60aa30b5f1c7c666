# One image per service, from one Dockerfile: `docker build --build-arg APP=auth .`
# Stages: dev dependencies and the esbuild bundle, then production dependencies only, then a
# slim runtime that runs as the unprivileged `node` user.

FROM node:24-bookworm-slim AS npm
# Where the registry is reached through a TLS-inspecting proxy, pass its CA (PEM text) as
# NPM_CA_CERT; it is used only by the install stages, never by the runtime image.
ARG NPM_CA_CERT=""
RUN if [ -n "$NPM_CA_CERT" ]; then printf '%s\n' "$NPM_CA_CERT" > /etc/npm-ca.pem && npm config set --global cafile /etc/npm-ca.pem; fi

FROM npm AS source
WORKDIR /repo
COPY package.json package-lock.json ./
# Install scripts are not needed (native addons ship prebuilt in their packages) and are not trusted.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json nx.json eslint.config.js ./
COPY scripts ./scripts
COPY libs ./libs
COPY apps ./apps
COPY infra ./infra

FROM source AS build
ARG APP
RUN test -n "$APP" && node scripts/build-app.mjs "$APP"

FROM npm AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ARG APP
ENV NODE_ENV=production
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /repo/dist/apps/${APP} ./dist
USER node
# Slim images have no curl: node asks the service itself whether it is ready.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/main.js"]
