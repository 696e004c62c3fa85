import { RedisCluster } from './redis-cluster';

/**
 * Global set-up of the `cluster` jest project: a Redis Cluster for its tests. Its URL goes into
 * the environment every test file starts from, under a name only the project's own set-up file
 * (driver-cluster.ts) reads: with one worker, jest runs every project's files in this process,
 * and the other projects' tests keep the local Redis.
 */
export default async function setup(): Promise<void> {
  const cluster = await RedisCluster.start();
  process.env.OTPGATE_CLUSTER_URL = cluster.url;
  (globalThis as { otpgateCluster?: RedisCluster }).otpgateCluster = cluster;
}
