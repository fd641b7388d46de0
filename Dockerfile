# syntax=docker/dockerfile:1
# The SSO broker's image: one image, one service per container, chosen by the command
# (sso-gateway, sso-token, sso-saml, sso-oidc, sso-directory, sso-scim; ssoctl is on PATH too).
# See compose.yaml for the whole system.

# ---- build --------------------------------------------------------------------------------
FROM debian:bookworm AS build
# The build packages of scripts/deps.sh (the compilers and -dev packages; no test tools).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev \
      libzmq3-dev libczmq-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev \
      libsqlite3-dev libssl-dev libxml2-dev libxmlsec1-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" build \
 && mkdir -p /out/bin /out/web \
 && cp build/bin/sso-* build/bin/ssoctl /out/bin/ \
 && strip --strip-unneeded /out/bin/* \
 && mkdir -p /out/web/static \
 && if [ -d web/static ]; then cp -r web/static/. /out/web/static/; fi

# ---- runtime ------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libzmq5 libczmq4 libprotobuf-c1 libmicrohttpd12 libjansson4 libcurl4 libsqlite3-0 \
      libssl3 libxml2 libxmlsec1-openssl zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sso \
 && useradd --system --uid 10001 --gid sso --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin sso \
 && install -d -o sso -g sso -m 0700 /data /keys
COPY --from=build /out/bin/ /app/bin/
COPY --from=build /out/web/ /app/web/
# with-secrets: the scale profile's directories get their secrets as files (compose.yaml).
COPY deploy/with-secrets.sh /app/bin/with-secrets
# Fail the build here, not at run time, if a shared library is missing.
RUN if ldd /app/bin/* | grep 'not found'; then exit 1; fi

# Production: no IdP simulator and no Test Organization unless SSO_SIMULATOR=1.
ENV PATH=/app/bin:$PATH \
    SSO_ENVIRONMENT=production \
    SSO_DATA_DIR=/data \
    SSO_WEB_DIR=/app/web/static \
    SSO_HTTP_ADDR=0.0.0.0:8080
WORKDIR /app
USER sso:sso
VOLUME ["/data"]
# 8080: the gateway's HTTP; 5555: the gateway's bus broker (workers connect to it with their
# CURVE keys from SSO_BUS_KEYS_DIR; compose shares them in a volume at /keys). Never publish 5555.
EXPOSE 8080 5555
STOPSIGNAL SIGTERM
CMD ["sso-gateway"]
