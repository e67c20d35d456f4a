# syntax=docker/dockerfile:1.7
# One image serves every mediaflow function: functions-framework loads functions/index.ts and runs the function
# named by FUNCTION_TARGET (set per Cloud Run service by terraform/modules/function). Node 24 runs the TypeScript
# sources directly (type stripping), so there is no build step and the image holds the sources as reviewed.
#
# Reproducible: the base image is pinned (pin its digest too: NODE_IMAGE=node:24.9.0-bookworm-slim@sha256:...),
# Debian packages come from a fixed snapshot of the archive, and npm installs exactly package-lock.json.
#
#   docker build -t mediaflow .
#   docker run --rm -e FUNCTION_TARGET=coordinator -e GOOGLE_CLOUD_PROJECT=... -p 8080:8080 mediaflow

# The Node version the test suite runs on (scripts/toolchain.sh) and the Debian release whose ffmpeg it is tested with.
ARG NODE_IMAGE=node:24.9.0-bookworm-slim
# A snapshot.debian.org timestamp: the same ffmpeg build on every rebuild. Empty = the live mirrors.
ARG DEBIAN_SNAPSHOT=20251120T000000Z

# --- runtime base: Node, ffmpeg/ffprobe from Debian, tini to reap ffmpeg children and forward signals -------------
# libheif's heif-convert and heif-thumbnailer decode HEIC (sharp's libvips has no HEVC decoder): thumbnail/heif.ts.
FROM --platform=linux/amd64 ${NODE_IMAGE} AS base
ARG DEBIAN_SNAPSHOT
RUN set -eux; \
    if [ -n "${DEBIAN_SNAPSHOT}" ]; then \
      sed -i \
        -e "s|http://deb.debian.org/debian-security|http://snapshot.debian.org/archive/debian-security/${DEBIAN_SNAPSHOT}|" \
        -e "s|http://deb.debian.org/debian\$|http://snapshot.debian.org/archive/debian/${DEBIAN_SNAPSHOT}|" \
        /etc/apt/sources.list.d/debian.sources; \
    fi; \
    apt-get -o Acquire::Check-Valid-Until=false update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg libheif-examples heif-thumbnailer tini libjemalloc2; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/*; \
    ffmpeg -hide_banner -version | head -n1; \
    ffprobe -hide_banner -version | head -n1; \
    heif-convert --help 2>&1 | head -n1

# --- production dependencies, exactly as locked; cached apart from the sources -----------------------------------
FROM base AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: sharp ships prebuilt libvips for linux-x64 as a dependency, nothing needs compiling.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- the image ------------------------------------------------------------------------------------------------------
FROM base
WORKDIR /app
ENV NODE_ENV=production \
    MEDIAFLOW_RUNTIME=gcp \
    FUNCTION_SOURCE=functions/index.ts \
    FUNCTION_SIGNATURE_TYPE=cloudevent \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe \
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
    MALLOC_CONF=narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
# jemalloc, because libvips on glibc's malloc fragments: over 8 large images the thumbnail worker's peak RSS kept
# climbing past 480 MB on glibc and levelled off near 240 MB on jemalloc with these settings (bench/thumbnail.bench.ts).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY events ./events
COPY shared ./shared
COPY functions ./functions
# Owned by root and read-only to the process; scratch files go to os.tmpdir(), which is memory on Cloud Run.
USER 1000:1000
EXPOSE 8080
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mediaflow" \
      org.opencontainers.image.description="mediaflow functions (FUNCTION_TARGET picks one)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/usr/bin/tini", "--"]
# functions-framework reads FUNCTION_TARGET, FUNCTION_SOURCE, FUNCTION_SIGNATURE_TYPE and PORT from the environment.
CMD ["node", "--disable-warning=ExperimentalWarning", "node_modules/@google-cloud/functions-framework/build/src/main.js"]
