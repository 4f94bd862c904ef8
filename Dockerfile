# One multi-target Dockerfile for every Tiketi image:
#   docker build --target auth    -t tiketi-auth .
#   docker build --target ticket  -t tiketi-ticket .
#   docker build --target payment -t tiketi-payment .
#   docker build --target stats   -t tiketi-stats .
#   docker build --target tools   -t tiketi .          # migrate, admin create, keys rotate
# The build stage runs scripts/build-binaries.sh, the same script scripts/test.sh runs.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/build-binaries.sh release

# Small runtime: Debian slim with CA certificates (TLS to RDS, ElastiCache, S3, Toss, Google),
# a non-root user, nothing else. The root filesystem can be mounted read-only.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home tiketi
USER 10001:10001
ENV APP_ENV=production LOG_FORMAT=json PORT=8080
EXPOSE 8080

FROM runtime AS auth
COPY --from=build /src/target/release/tiketi-auth /usr/local/bin/tiketi-auth
ENTRYPOINT ["/usr/local/bin/tiketi-auth"]

FROM runtime AS ticket
COPY --from=build /src/target/release/tiketi-ticket /usr/local/bin/tiketi-ticket
ENTRYPOINT ["/usr/local/bin/tiketi-ticket"]

FROM runtime AS payment
COPY --from=build /src/target/release/tiketi-payment /usr/local/bin/tiketi-payment
ENTRYPOINT ["/usr/local/bin/tiketi-payment"]

FROM runtime AS stats
COPY --from=build /src/target/release/tiketi-stats /usr/local/bin/tiketi-stats
ENTRYPOINT ["/usr/local/bin/tiketi-stats"]

FROM runtime AS tools
COPY --from=build /src/target/release/tiketi /usr/local/bin/tiketi
COPY frontend-dist /srv/frontend-dist
ENV FRONTEND_DIR=/srv/frontend-dist
ENTRYPOINT ["/usr/local/bin/tiketi"]
