import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './child';

/** Share of all cores that counts as a quiet machine, good enough to start a measurement on. */
export const QUIET = 0.25;
/** Share of all cores other processes may take during a measurement before it counts as disturbed. */
export const DISTURBED = 0.125;

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat. Per request it is a
 * steadier figure than throughput on a shared 2-core machine: it says what a request costs.
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** A store that went away (a restarted MariaDB) counts as 0 rather than ending the run. */
export function cpuMsIfRunning(pid: number): number {
  try {
    return processCpuMs(pid);
  } catch {
    return 0;
  }
}

/** Pids of processes by command name (`mariadbd`, `redis-server`), to read their CPU time. */
export function pidsNamed(names: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) pids.push(Number(entry));
    } catch {
      // Gone since the listing.
    }
  }
  return pids;
}

/**
 * CPU time all processes of the machine have used (user, nice and system, in ms), and the number
 * of cores: with the CPU time of the bench's own processes, it shows whether anything else ran
 * during a measurement. Interrupt time is left out; no process is charged with it.
 */
export function machineCpu(): { ms: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const [, user, nice, system] = lines[0].trim().split(/\s+/).map(Number);
  const cores = lines.filter((line) => /^cpu\d/.test(line)).length;
  return { ms: ((user + nice + system) * 1000) / TICKS_PER_SECOND, cores };
}

/** CPU time of this process (the load generator), in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Share of all cores busy over `ms`, from /proc/stat. */
export async function machineBusy(ms = 500): Promise<number> {
  const read = () => {
    const [, ...times] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    // idle + iowait are the idle columns.
    return { total: times.reduce((sum, time) => sum + time, 0), idle: times[3] + times[4] };
  };
  const before = read();
  await sleep(ms);
  const after = read();
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : 0;
}

/**
 * Waits until the machine is quiet (others' test runs or builds would skew every figure), for at
 * most `maxWaitMs`. Returns how busy it still was, so a run on a busy machine can say so.
 */
export async function waitForQuiet(log: (line: string) => void, threshold = QUIET, maxWaitMs = 120_000): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await machineBusy();
  let said = false;
  while (busy > threshold && Date.now() < deadline) {
    if (!said) log(`  machine busy (${(busy * 100).toFixed(0)} % of all cores) before a measurement; waiting up to ${maxWaitMs / 1000} s`);
    said = true;
    await sleep(1000);
    busy = await machineBusy();
  }
  return busy;
}
