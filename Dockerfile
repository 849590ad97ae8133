# tsdaemon with the bundled example app. Build: docker build -t tsdaemon .
# Run:   docker run --rm -p 8080:8080 tsdaemon           (serves hello.js on :8080; no --init needed)
# Own app: FROM tsdaemon, COPY your app into /app, and override CMD: ["--listen=:8080", "--", "node", "app.js"]

# Build stage: the full image has the C compiler for the native addon (zombie reaping as PID 1, sd_notify,
# sockets through npm start; its Node-API headers come from the node-api-headers package) and the bind shim
# (servers that bind their own port); --required makes the build fail rather than ship an image without
# them. The dependencies are installed before the sources are copied, so a change to src/ reuses that layer.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
COPY native ./native
# The last line writes the code caches of the bundles (dist/cache) once, here: the runtime image's
# /opt/tsdaemon is root's and may be read-only, so a start there could not write them.
RUN npm run build && node native/build.mjs --required \
 && bin/tsdaemon --ready=timer:1ms -- sleep 0.2 2>/dev/null \
 && { bin/tsdaemon status --pidfile=/nonexistent 2>/dev/null || true; } && ls dist/cache

# Runtime: tsdaemon in /opt/tsdaemon, the app in /app. The CLI is bundled (dist/*.cjs, with their code
# caches in dist/cache), and the preload and app helper have no dependencies: no node_modules. tsdaemon's package.json (its
# "type": "module" is for dist/) stays out of /app, so a CommonJS app there loads as CommonJS.
FROM node:20-bookworm-slim
COPY --from=build /src/package.json /opt/tsdaemon/
COPY --from=build /src/bin /opt/tsdaemon/bin
COPY --from=build /src/dist /opt/tsdaemon/dist
COPY --from=build /src/native/tsdaemon_native.node /opt/tsdaemon/native/
COPY --from=build /src/native/libtsdaemon_bind.so /opt/tsdaemon/native/
RUN ln -s /opt/tsdaemon/bin/tsdaemon /usr/local/bin/tsdaemon \
 && mkdir -p /app/node_modules && ln -s /opt/tsdaemon /app/node_modules/tsdaemon
WORKDIR /app
COPY examples/hello.js ./
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:8080/', r => process.exit(r.statusCode < 500 ? 0 : 1)).on('error', () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tsdaemon"]
CMD ["--listen=:8080", "--", "node", "hello.js"]
