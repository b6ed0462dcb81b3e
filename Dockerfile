# syntax=docker/dockerfile:1
# Build: compile TypeScript (and better-sqlite3's native addon) with the full toolchain.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY . .
# npm ci builds too (the `prepare` script); then drop the dev dependencies.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Run: production dependencies and compiled code only, as a non-root user, under an init process.
FROM node:20-bookworm-slim
# The HTTP server (status page, /livez, /readyz, /metrics) listens on every interface inside the container;
# publish the port only where it should be reachable (docker-compose.yml binds it to 127.0.0.1).
ENV NODE_ENV=production DATA_DIR=/data BALANCE_LOG_DIR=/data/logs HTTP_HOST=0.0.0.0 HTTP_PORT=8080
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
USER node
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (the process and its event loop answer): no curl in the slim image, so Node's own fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The bot allocates little: a small young generation keeps idle memory near 100 MB (see README, Performance).
CMD ["node", "--max-semi-space-size=1", "--optimize-for-size", "dist/src/entry/main.js"]
