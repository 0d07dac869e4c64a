# appeal-gateway image: build with the Rust toolchain, run on a slim Debian as a
# non-root user. Used by docker-compose.yml; `docker build -t appeal-gateway .`
# works alone too.

# ---- build ------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# Dependencies first, against a placeholder main, so that a change to the
# sources does not rebuild every crate.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/appeal-gateway* target/release/deps/appeal_gateway-* \
           target/release/deps/libappeal_gateway-* target/release/.fingerprint/appeal-gateway-*

COPY . .
RUN touch src/*.rs \
 && cargo build --release --locked \
 && mkdir -p /dist \
 && cp target/release/appeal-gateway /dist/ \
 && for d in channels templates schemas regulation static; do \
      if [ -d "$d" ]; then cp -r "$d" /dist/; fi; \
    done

# ---- run --------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home \
            --home-dir /var/lib/appeal-gateway --shell /usr/sbin/nologin gateway \
 && mkdir -p /var/lib/appeal-gateway \
 && chown gateway:gateway /var/lib/appeal-gateway \
 && chmod 0750 /var/lib/appeal-gateway

# The binary and the data files it reads (channel policies, templates,
# schemas, the regulation text) side by side; the working directory is theirs.
COPY --from=builder /dist/ /opt/appeal-gateway/
RUN ln -s /opt/appeal-gateway/appeal-gateway /usr/local/bin/appeal-gateway
WORKDIR /opt/appeal-gateway

ENV GATEWAY_BIND=0.0.0.0:8080 \
    GATEWAY_DATA_DIR=/var/lib/appeal-gateway
USER gateway:gateway
VOLUME ["/var/lib/appeal-gateway"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["appeal-gateway"]
CMD ["serve"]
