# The scalelite image: one image, every role (start, api, poller, projector, importer) chosen by
# the command. docs/containers.md says how to run it alone, with any uid, and in docker-compose.yml.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/cli-manifest.js scripts/
COPY src src
COPY cli cli
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
# DATA_DIR: the embedded log (`start`) and its generated secret, on a volume of its own: /app
# belongs to root, and ./data under it is writable by nobody the image does not know.
ENV NODE_ENV=production PORT=3000 DATA_DIR=/var/lib/scalelite
# oclif asks the passwd entry for the user's shell when SHELL is unset, and a uid the image does
# not know (`--user 1234`) has none: the CLI would stop at "uv_os_get_passwd returned ENOENT".
ENV SHELL=/bin/sh
# kafkajs asks for a negative timeout (its request queue, tulios/kafkajs#1751, unfixed upstream):
# Node 24 says so once per process, then uses 1 ms, as Node 20 did in silence.
ENV NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/oclif.manifest.json ./
COPY package.json ./
COPY bin bin
# Writable whatever the uid (`docker run --user 1234`, OpenShift's random uids): the data dir is
# sticky and world-writable like /tmp (each user keeps its files), and a fresh named volume
# takes that mode. The recordings volume takes node's owner (UID 1000, as Scalelite's images).
RUN mkdir -p /var/lib/scalelite /var/bigbluebutton \
    && chown node:node /var/lib/scalelite /var/bigbluebutton \
    && chmod 1777 /var/lib/scalelite
VOLUME ["/var/lib/scalelite"]
USER node
EXPOSE 3000
# `start` and `api` answer on PORT; poller, projector and importer on METRICS_PORT when it is set.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 CMD ["node", "bin/healthcheck.js"]
ENTRYPOINT ["node", "bin/run.js"]
CMD ["start"]
