# syntax=docker/dockerfile:1
# Two images from one build: `--target control-plane` (tributary-control) and `--target worker`
# (tributary-worker). docker-compose.yml builds both.

# The web console, embedded in tributary-control by control-plane/build.rs.
FROM node:20-bookworm-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY console/ ./
RUN npm run build

FROM rust:1-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libssl-dev zlib1g-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Whatever console build the context held is replaced by the one built above.
COPY --from=console /console/dist console/dist
# The caches keep crates and incremental artifacts between builds; the binaries are copied out of
# the cached target directory because it is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins -p tributary-control-plane -p tributary-data-plane \
 && cp target/release/tributary-control target/release/tributary-worker /usr/local/bin/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home tributary
USER tributary

FROM runtime AS control-plane
COPY --from=builder /usr/local/bin/tributary-control /usr/local/bin/
ENV TRIBUTARY_HTTP_LISTEN=0.0.0.0:18083 \
    TRIBUTARY_GRPC_LISTEN=0.0.0.0:18090
EXPOSE 18083 18090
ENTRYPOINT ["tributary-control"]

FROM runtime AS worker
COPY --from=builder /usr/local/bin/tributary-worker /usr/local/bin/
ENV TRIBUTARY_ADMIN_LISTEN=0.0.0.0:18181
EXPOSE 18181
ENTRYPOINT ["tributary-worker"]
