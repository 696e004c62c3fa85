import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  process: ChildProcess;
}

/**
 * A real Redis Cluster on loopback: three masters and a replica each, Debian's redis-server
 * processes joined by `redis-cli --cluster create`. A short node timeout makes a failover take
 * seconds, not the default 15 s.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly dir: string,
  ) {}

  static async start(masters = 3, nodeTimeoutMs = 2000): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'otpgate-cluster-'));
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < masters * 2; i++) {
      const port = await freePort();
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--save', '', '--appendonly', 'no', '--logfile', join(dir, `${port}.log`)];
      nodes.push({ port, process: spawn('redis-server', args, { stdio: 'ignore' }) });
    }
    const cluster = new RedisCluster(nodes, dir);
    for (const node of nodes) await waitFor(() => cli(node.port, 'PING').then((answer) => answer === 'PONG'));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes']);
    for (const node of nodes) await waitFor(() => cli(node.port, 'CLUSTER', 'INFO').then((info) => info.includes('cluster_state:ok')));
    // Replicas take their role a moment after `create`; one that has not synced with its master cannot take over from it.
    await waitFor(async () => {
      const replicas = (await cli(nodes[0].port, 'CLUSTER', 'NODES')).split('\n').filter((line) => line.split(' ')[2].includes('slave'));
      if (replicas.length < masters) return false;
      const links = await Promise.all(replicas.map((line) => cli(Number(line.split(' ')[1].split(':')[1].split('@')[0]), 'INFO', 'replication')));
      return links.every((info) => info.includes('master_link_status:up'));
    });
    return cluster;
  }

  /** `redis+cluster://` of every node, as REDIS_URL names a cluster. */
  get url(): string {
    return `redis+cluster://${this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`;
  }

  /** The port of the master that serves a key's slot now. */
  async masterOf(key: string): Promise<number> {
    const [node] = this.alive();
    const slot = Number(await cli(node.port, 'CLUSTER', 'KEYSLOT', key));
    for (const line of (await cli(node.port, 'CLUSTER', 'NODES')).split('\n')) {
      const [, address, flags, , , , , , ...ranges] = line.split(' ');
      if (flags.includes('master') && !flags.includes('fail') && ranges.some((range) => inRange(slot, range))) return Number(address.split(':')[1].split('@')[0]);
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /** Kills a node's process (SIGKILL), as a crash would. */
  kill(port: number): void {
    this.nodes.find((node) => node.port === port)?.process.kill('SIGKILL');
  }

  /** Whether a replica has taken over every slot: the cluster says ok again. */
  async healthy(): Promise<boolean> {
    const answers = await Promise.all(this.alive().map((node) => cli(node.port, 'CLUSTER', 'INFO').catch(() => '')));
    return answers.every((info) => info.includes('cluster_state:ok'));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map((node) => (node.process.exitCode !== null || node.process.signalCode !== null ? Promise.resolve() : new Promise((resolve) => node.process.once('exit', resolve).kill('SIGKILL')))),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private alive(): ClusterNode[] {
    return this.nodes.filter((node) => node.process.exitCode === null && node.process.signalCode === null);
  }
}

function inRange(slot: number, range: string): boolean {
  const [from, to = from] = range.split('-').map(Number);
  return slot >= from && slot <= to;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not come up');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
