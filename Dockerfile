# tsdaemon with the bundled example app. Build: docker build -t tsdaemon .
# Run:   docker run --rm -p 8080:8080 tsdaemon           (serves examples/hello.js on :8080)
# Own app: FROM this image, COPY your app, and override CMD: ["--listen=:8080", "--", "node", "app.js"]

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN npm ci --no-audit --no-fund

# The CLI is one bundled file (dist/tsdaemon.mjs) plus the preload and app helper, which have no
# dependencies: the runtime image needs no node_modules.
FROM node:20-slim
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY examples ./examples
RUN ln -s /app/bin/tsdaemon /usr/local/bin/tsdaemon
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:8080/', r => process.exit(r.statusCode < 500 ? 0 : 1)).on('error', () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tsdaemon"]
CMD ["--listen=:8080", "--", "node", "examples/hello.js"]
