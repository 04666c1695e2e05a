# Simmer's image: the server, its production dependencies and the built page, on Node 20.
#
#   docker build -t simmer .                                     # or: docker compose build
#   DOCKER_BUILDKIT=1 docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t simmer .
#
# The optional BuildKit secret `ca` is a CA bundle for the package downloads of a build behind a
# TLS-inspecting proxy; it is mounted for those steps only and never lands in a layer. Running:
# docs/deploy.md.

# Production dependencies only: the server's and its contracts' (no compiler, test runner, browser
# driver or bundler). Its own stage so that a change to the sources reuses it.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/server/package.json packages/server/
COPY packages/testkit/package.json packages/testkit/
COPY packages/web/package.json packages/web/
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && npm ci --omit=dev --workspace=@simmer/server --include-workspace-root=false --no-audit --no-fund \
 && npm cache clean --force

# Everything the build needs, then the server and the page built.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/server/package.json packages/server/
COPY packages/testkit/package.json packages/testkit/
COPY packages/web/package.json packages/web/
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/contracts packages/contracts
COPY packages/server packages/server
COPY packages/web packages/web
RUN npx tsc -b packages/server \
 && npm run build --workspace @simmer/web \
 && find packages/contracts/dist packages/server/dist -name '*.map' -delete -o -name '*.d.ts' -delete -o -name '*.tsbuildinfo' -delete

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/packages/contracts/package.json packages/contracts/
COPY --from=build /app/packages/contracts/dist packages/contracts/dist
COPY --from=build /app/packages/server/package.json packages/server/
COPY --from=build /app/packages/server/dist packages/server/dist
COPY --from=build /app/packages/web/dist packages/web/dist
# The file store's data; owned by the unprivileged user the server runs as (the official image's `node`).
RUN mkdir -m 0700 /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
# /readyz through Node itself (the image has no curl): 200 when the store answers.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "packages/server/dist/healthcheck.js"]
CMD ["node", "packages/server/dist/main.js"]
