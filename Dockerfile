# syntax=docker/dockerfile:1
# The evalctl image: the CLI and every worker type (`evalctl worker orchestrator|inference|scoring|all`).
# docker-compose.yml builds it for its worker services; on a cluster, push it and run the same commands.
# GPU workers need a CUDA-capable base only for the programs a `command` provider starts; evalctl itself
# only hands out GPU ids (CUDA_VISIBLE_DEVICES), so this slim image serves GPU hosts too.

ARG NODE_VERSION=20.19.5

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY scripts ./scripts
# Compile, bundle the workflows once (workers start fast), then drop the dev dependencies.
RUN npx tsc -p tsconfig.json && node dist/scripts/bundle-workflows.js && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY configs ./configs
RUN ln -s /app/bin/evalctl.js /usr/local/bin/evalctl
USER node
ENTRYPOINT ["node", "/app/bin/evalctl.js"]
CMD ["--help"]
