# Stand-in for the official node:20-bookworm-slim, built by scripts/ensure-docker.sh only when that
# image is absent (no image registry is reachable on the test machines). The same layout as the
# official image: Node and npm under /usr/local, a `node` user with uid and gid 1000.
FROM simmer-standin/bookworm:12
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
LABEL org.simmer.standin="node:20-bookworm-slim"
CMD ["node"]
