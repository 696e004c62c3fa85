import autocannon from 'autocannon';

/** One measured run, as the table shows it. */
export interface RunResult {
  /** 2xx responses per second of the run. */
  rps: number;
  /** Latency of 2xx responses, ms. */
  p50: number;
  p99: number;
  ok: number;
  /** Non-2xx answers, connection errors and timeouts: any of them makes the run suspect. */
  failed: number;
  /** Answers by HTTP status, to tell failures apart. */
  statuses: Record<string, number>;
  /** Seconds the run lasted (shorter than asked when the bodies ran out). */
  seconds: number;
}

export interface LoadSpec {
  url: string;
  path: string;
  connections: number;
  /** Seconds; or `amount` requests instead. */
  duration?: number;
  amount?: number;
  headers?: Record<string, string>;
  /**
   * The body of each request, built as it is sent (a new destination, the next pending OTP).
   * `undefined` means there is nothing left to send: the run ends there, shorter.
   */
  body: () => string | undefined;
  /** Sent by requests still being built after the bodies ran out; their answers are not counted as failures. */
  spareBody?: string;
}

/**
 * Drives a POST route with autocannon's programmatic API from this process (the targets run in
 * their own). `setupRequest` builds every request afresh, so no two carry the same body.
 */
export function drive(spec: LoadSpec): Promise<RunResult> {
  let spare = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.duration ?? 10 }),
        requests: [
          {
            method: 'POST',
            path: spec.path,
            headers: { 'content-type': 'application/json', ...spec.headers },
            setupRequest: (request) => {
              const body = spec.body();
              if (body !== undefined) return { ...request, body };
              // Out of bodies: stop, and let the few requests already on their way go out with a harmless one.
              if (spare++ === 0) setImmediate(() => instance.stop());
              return { ...request, body: spec.spareBody ?? '{}' };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        const ok = result['2xx'];
        resolve({
          rps: ok / result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          ok,
          // `errors` counts timeouts too.
          failed: Math.max(0, result.non2xx - spare) + result.errors,
          statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, stats]) => [status, stats.count ?? 0])),
          seconds: result.duration,
        });
      },
    );
  });
}
