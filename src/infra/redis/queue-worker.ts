import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { RedisClient, Worker } from 'bullmq';
import { withTimeout } from '../../common/timeout';
import { RedisOutageLog } from './redis-outage-log';

/** At shutdown, the jobs a worker has in hand get this long to finish before it closes anyway. */
export const WORKER_CLOSE_GRACE_MS = 10_000;
/** How long a worker's connections may take to hand out their clients at shutdown. */
const CLIENT_WAIT_MS = 1000;

/**
 * What the BullMQ workers share: an outage logged once per worker (connection errors are retried
 * by BullMQ's clients), and a shutdown that always ends (`closeWorker`). It runs before Nest's
 * shutdown hooks, whose `close()` of the worker then returns at once, and while the database is
 * still open for the jobs that finish.
 */
export abstract class QueueWorker extends WorkerHost implements BeforeApplicationShutdown {
  private readonly outage: RedisOutageLog;
  private readonly logger: Logger;

  constructor(queueName: string) {
    super();
    this.outage = new RedisOutageLog(`worker ${queueName}`);
    this.logger = new Logger(`Worker ${queueName}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.outage.failed(error);
  }

  @OnWorkerEvent('ready')
  onReady(): void {
    this.outage.recovered();
  }

  async beforeApplicationShutdown(): Promise<void> {
    const unfinished = await closeWorker(this.worker, WORKER_CLOSE_GRACE_MS);
    if (unfinished) this.logger.warn(`closed without waiting for its jobs (${unfinished}); a job left unfinished runs again once its lock has expired`);
  }
}

/**
 * Closes a BullMQ worker in bounded time: it takes no more jobs, the jobs in hand get `graceMs`
 * to finish (their completion written to Redis), then it closes without waiting (`close(true)`).
 * Returns null when they finished, else why they may not have.
 *
 * Not BullMQ's graceful `close()`, which can wait for Redis without bound: it interrupts the
 * blocking fetch with a disconnect and waits for the client's `end`, which a client waiting to
 * reconnect (Redis away, or back and not reconnected to yet) never emits, and then waits for ever,
 * even once Redis is back (bullmq#4656); and it ends its connection with QUIT, queued behind the
 * commands issued while Redis is away, which ioredis drops only after 20 reconnections (minutes).
 * Here a worker whose two connections are not both up closes at once. A job left unfinished stays
 * active until its lock expires; a worker's stalled check then hands it out again (at least once).
 */
export async function closeWorker(worker: Worker, graceMs: number): Promise<string | null> {
  const unfinished = worker.closing ? 'closed elsewhere' : await drain(worker, graceMs);
  await worker.close(true);
  return unfinished;
}

async function drain(worker: Worker, graceMs: number): Promise<string | null> {
  const { blockingConnection, whenCurrentJobsFinished } = worker as unknown as WorkerInternals;
  if (!blockingConnection || typeof whenCurrentJobsFinished !== 'function') return 'this BullMQ version has no drain to call';
  await worker.pause(true);
  // A connection still setting up (it connected, then Redis went away before BullMQ had read its
  // version) hands out its client only once Redis is back: not waited for.
  const clients = await withTimeout(Promise.all([worker.client, blockingConnection.client]), CLIENT_WAIT_MS).catch(() => null);
  if (!clients) return 'Redis unavailable';
  const [client, blockingClient] = clients;
  // Only promises settle between this check and the drain's disconnect: no client can change state in between.
  if (client.status !== 'ready' || blockingClient.status !== 'ready') return 'Redis unavailable';
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`jobs still running after ${graceMs} ms`), graceMs)));
  const drained = whenCurrentJobsFinished.call(worker, false).then(
    () => null,
    (error: unknown) => `the drain failed: ${(error as Error).message}`,
  );
  try {
    return await Promise.race([drained, graceOver]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What `drain` reads of a BullMQ 5 Worker beyond its typed API: the blocking connection's client
 * and the drain that `close()` runs first. Without them a worker closes at once.
 */
interface WorkerInternals {
  blockingConnection?: { client: Promise<RedisClient> };
  whenCurrentJobsFinished?: (this: Worker, reconnect: boolean) => Promise<void>;
}
