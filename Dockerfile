# syntax=docker/dockerfile:1
#
# Resurge images. Targets:
#   worker  the Temporal worker, plus the starter CLI (default target)
#   sim     the simulated social platform (HTTP on :8090)
#
#   docker build --target worker -t resurge-worker .
#   docker build --target sim -t resurge-sim .
# docker-compose.yml builds both.

ARG GO_VERSION=1.26

# ---- build: every binary, static (CGO_ENABLED=0) ----
FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when go.mod / go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ \
        ./worker ./starter ./platform/sim/cmd/resurge-sim
# An empty directory for the sim's state file, to be owned by the runtime user (distroless has no
# shell to mkdir/chown in its own stage).
RUN mkdir -p /empty

# ---- sim: distroless static (no shell), non-root ----
# `resurge-sim --healthcheck` probes GET /healthz itself, so the image needs no curl/wget.
FROM gcr.io/distroless/static-debian12:nonroot AS sim
COPY --from=build /out/resurge-sim /usr/local/bin/resurge-sim
# /data: where compose mounts a volume for RESURGE_SIM_STATE_FILE. A new named volume takes the
# ownership of the image directory, so nonroot (65532) can write there.
COPY --from=build --chown=65532:65532 /empty /data
USER nonroot:nonroot
ENV RESURGE_SIM_ADDR=0.0.0.0:8090
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=5s --retries=5 \
    CMD ["/usr/local/bin/resurge-sim", "--healthcheck", "--addr", "127.0.0.1:8090"]
ENTRYPOINT ["/usr/local/bin/resurge-sim"]

# ---- worker (default target): distroless static (CA certificates, tzdata, no shell), non-root ----
FROM gcr.io/distroless/static-debian12:nonroot AS worker
COPY --from=build /out/worker /out/starter /usr/local/bin/
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/worker"]
