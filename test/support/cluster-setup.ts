import { RedisCluster } from './redis-cluster';

/**
 * Global set-up of the `cluster` jest project: a Redis Cluster for its tests, which read its URL
 * from OTPGATE_TEST_REDIS_URL (test workers inherit the environment set here).
 */
export default async function setup(): Promise<void> {
  const cluster = await RedisCluster.start();
  process.env.OTPGATE_TEST_REDIS_URL = cluster.url;
  process.env.OTPGATE_TEST_CLUSTER_PORTS = cluster.nodes.map((node) => node.port).join(',');
  (globalThis as { otpgateCluster?: RedisCluster }).otpgateCluster = cluster;
}
