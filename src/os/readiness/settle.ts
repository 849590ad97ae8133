// After the accept sign (accept-probe.ts), a generation counts as ready only once it is past its start-up:
// its process group has wanted less than a fifth of a core over the last 50 ms (cpu-demand.ts), or 500 ms
// have passed since the sign. Why: the sign comes as soon as the server has its socket in an epoll set,
// and a Go program gets there inside net.FileListener, before Serve, while its runtime is still starting;
// tsdaemon has just spent 10-40 ms of CPU of its own spawning it. On a busy host the old generation's
// clients then get no CPU for a few milliseconds, and the answers they have not read yet make their
// keep-alive connections look idle: a drain that closes idle connections at once (Go's srv.Shutdown)
// closes them just before each client sends its next request on it. A hot restart stops the old
// generation once the restart's burst of CPU is over (docs/benchmarks.md#whose-failures-tsdaemons-part).
// A server that is idle when the sign comes is ready 60 ms after it (three looks, 20 ms apart).
import { type DemandSample, demandBetween, sampleDemand } from './cpu-demand.js';

/** The group must have been quiet this long … */
export const SETTLE_WINDOW_MS = 50;
/** … wanting less than this share of one core (run and run-queue wait, summed over its threads) … */
export const SETTLE_BUSY_MAX = 0.2;
/** … or it is ready anyway this long after the sign: a server that works from its first moment never settles. */
export const SETTLE_MAX_MS = 500;

export interface Settle {
  /** One look (every ACCEPT_POLL_MS): how the generation was seen ready, once it has settled, else undefined. */
  check(): string | undefined;
}

interface Sample {
  at: number;
  demand: DemandSample;
}

/** Starts watching the group (members() gives its pids) at the moment `how` was seen. */
export function createSettle(
  how: string,
  members: () => number[],
  now: () => number = () => performance.now(),
): Settle {
  const start = now();
  // samples[0] is the newest sample at least SETTLE_WINDOW_MS old once there is one, the first until then.
  const samples: Sample[] = [{ at: start, demand: sampleDemand(members()) }];
  return {
    check() {
      const at = now();
      const demand = sampleDemand(members());
      samples.push({ at, demand });
      while (samples.length > 1 && at - (samples[1] as Sample).at >= SETTLE_WINDOW_MS) samples.shift();
      const base = samples[0] as Sample;
      const after = Math.round(at - start);
      const busy = demandBetween(base.demand, demand) / 1e6 / Math.max(1, at - base.at);
      if (at - base.at >= SETTLE_WINDOW_MS && busy < SETTLE_BUSY_MAX)
        return `${how}, settled after ${after} ms`;
      if (at - start >= SETTLE_MAX_MS)
        return `${how}, still busy after ${after} ms (${Math.round(busy * 100)} % of a core)`;
      return undefined;
    },
  };
}
