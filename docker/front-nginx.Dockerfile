# The nginx front of the docker compose web farm (docker-compose.yml): node, to run
# `farmgate front nginx` at start, and nginx with the Lua module, from Debian's packages.
FROM node:20-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx libnginx-mod-http-lua \
 && rm -rf /var/lib/apt/lists/*
