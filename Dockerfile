# syntax=docker/dockerfile:1
# chat-control-plane: the compiled build on plain Node (no tsx, no esbuild at run time).
#   docker build -t chat-control-plane .
#   docker compose up          (the service with Postgres, Redis, Prometheus, Alertmanager, Grafana)
# Written and checked by reading, not built: see README, "Containers".

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# dist/ (server, alerts) and dashboard/dist, then drop the dev dependencies (tsx, typescript, vite, …).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
# What the compiled service reads at run time: its code, its dependencies, package.json (the
# project root and the version), the built dashboard and the default alert rules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/dashboard/dist ./dashboard/dist
COPY --from=build /app/alerts/rules ./alerts/rules
# The image's unprivileged "node" user (uid 1000) owns only the data directory (PGlite files
# when DATABASE_URL is unset).
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Ready = database and cache reachable, migrations done (GET /health/ready answers 200).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop): stop accepting, finish in-flight requests within SHUTDOWN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server/main.js"]
