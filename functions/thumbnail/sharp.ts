/**
 * sharp, configured once for a worker that turns each image into many renditions.
 *
 * concurrency(1): one libvips thread per pipeline, whatever the allocator. sharp picks 1 by itself on glibc
 * without jemalloc; it is pinned here so the jemalloc container below does not switch to a thread per core. The
 * parallelism is elsewhere: the 15 encodes of one image are independent and run one per core (renditions.ts) on
 * libuv's pool, and an instance works on several orders at once. Measured in turn on the bench (8 images, 2 vCPU,
 * jemalloc): concurrency = cores spent the same CPU per image (1.75 vs 1.78 s) and cut one image's latency by
 * ~10% (1.80 vs 1.99 s) for 40 MB more peak RSS (285 vs 246 MB); with two images in flight those extra threads
 * only contend. Memory is what Cloud Run bills and kills for, so: one thread per pipeline. The container should
 * leave UV_THREADPOOL_SIZE at 4 on up to 2 vCPUs, and set it to the vCPU count above that.
 *
 * cache(false): libvips' operation cache only helps when the same image is processed again; a worker sees each
 * source once, so the cache is 50 MB of resident memory that never hits.
 *
 * The container should preload jemalloc with prompt purging:
 *   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 (Debian's libjemalloc2)
 *   MALLOC_CONF=narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
 * Pool threads allocating and freeing multi-megabyte buffers (libaom holds ~100 MB per 2048 px AVIF) fragment
 * glibc's per-thread arenas: on the bench, glibc's peak RSS climbed from 260 MB after one 12 MP image to 486 MB
 * after eight and kept going, which a long-lived Cloud Run instance turns into an OOM kill. jemalloc with those
 * settings levels off around 240–250 MB (328 MB with its default 10 s decay), at the same CPU per image.
 */
import sharp from 'sharp';

sharp.concurrency(1);
sharp.cache(false);

export { sharp };

/** Versions that shape the output, recorded as provenance. */
export const sharpVersions: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    libaom: sharp.versions.aom,
    libwebp: sharp.versions.webp,
    mozjpeg: sharp.versions.mozjpeg,
  }).filter((entry): entry is [string, string] => entry[1] !== undefined),
);

/**
 * A stopwatch per pipeline, independent of the step's own timeout: when a step times out its promise is abandoned,
 * but a libvips pipeline would keep a pool thread busy; this makes it give up too.
 */
export const PIPELINE_TIMEOUT_SECONDS = 120;
