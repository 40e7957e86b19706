# The scalelite image: one image, every role (start, api, poller, projector, importer) chosen by the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src src
COPY cli cli
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=3000
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
# The recordings volume: a fresh named volume takes this owner (UID 1000, as Scalelite's images).
RUN mkdir -p /var/bigbluebutton && chown node:node /var/bigbluebutton
USER node
EXPOSE 3000
ENTRYPOINT ["node", "bin/run.js"]
CMD ["start"]
