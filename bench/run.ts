/**
 * `npm run bench [-- name…]`: runs each bench in turn, or only the named ones, and prints its report. A failed
 * bench is reported and the rest still run, but the exit code says so. Adding a bench (images, audio, segments)
 * means writing a module that exports a Bench and listing it here.
 */
import { audioBench } from './audio.bench.ts';
import { embeddedChainBench } from './embedded-chain.bench.ts';
import { gcpFaultsBench } from './gcp-faults.bench.ts';
import { gcpStackBench } from './gcp-stack.bench.ts';
import { hlsBench } from './hls.bench.ts';
import { machineContext, type Bench } from './lib/bench.ts';
import { reprocessBench } from './reprocess.bench.ts';
import { thumbnailBench } from './thumbnail.bench.ts';

const benches: readonly Bench[] = [embeddedChainBench, gcpStackBench, gcpFaultsBench, thumbnailBench, audioBench, hlsBench, reprocessBench];

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !benches.some((bench) => bench.name === name));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(', ')}; known: ${benches.map((bench) => bench.name).join(', ')}`);
  process.exitCode = 2;
} else {
  console.log(machineContext());
  for (const bench of benches.filter((candidate) => requested.length === 0 || requested.includes(candidate.name))) {
    console.log(`\n== ${bench.name} ==`);
    const started = performance.now();
    try {
      console.log(await bench.run());
      console.log(`(${bench.name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      console.error(`${bench.name} failed:`, error);
      process.exitCode = 1;
    }
  }
}
