import { RedisCluster } from './redis-cluster';

export default async function teardown(): Promise<void> {
  await (globalThis as { otpgateCluster?: RedisCluster }).otpgateCluster?.stop();
}
