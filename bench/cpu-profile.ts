import { readFileSync } from 'node:fs';

/** The parts of a V8 `.cpuprofile` (node --cpu-prof) this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled ms inside the window, idle excluded. */
  busyMs: number;
  idleMs: number;
  /** Self time by function. */
  functions: ProfileLine[];
  /** Self time by package (or otpgate source file, or V8/Node category). */
  selfByModule: ProfileLine[];
  /** Time with the package anywhere on the stack: what a package costs, callees included. */
  inclusiveByModule: ProfileLine[];
  /** Total time by function (callees included), packages' and otpgate's code only: where a request's time goes, layer by layer. */
  inclusiveFunctions: ProfileLine[];
  /** For the top functions: who calls them, as the nearest frame in a package or in otpgate. */
  callers: Map<string, ProfileLine[]>;
}

/**
 * A span of the profile, counted back from its end (when the process exited): the bench knows
 * how long before the exit its load started and stopped, not the profile's clock.
 */
export interface ProfileWindow {
  fromMsBeforeEnd: number;
  toMsBeforeEnd: number;
}

/**
 * Summarises the samples of a CPU profile inside the window, so that start-up and shutdown are
 * left out. Everything is grouped for an optimiser's eye: which functions, which packages, and
 * how much time each package accounts for with its callees.
 */
export function summariseProfile(file: string, window?: ProfileWindow, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const fromUs = window ? profile.endTime - window.fromMsBeforeEnd * 1000 : -Infinity;
  const toUs = window ? profile.endTime - window.toMsBeforeEnd * 1000 : Infinity;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const selfModule = new Map<string, number>();
  const inclusiveModule = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  const inclusiveFunction = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  let time = profile.startTime;
  profile.samples.forEach((id, index) => {
    time += profile.timeDeltas[index];
    // A sample's weight is the gap to the next one (the last gets the mean interval, approximately).
    const weight = profile.timeDeltas[index + 1] ?? profile.timeDeltas[index];
    if (time < fromUs || time > toUs) return;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += weight;
      return;
    }
    busyUs += weight;
    const name = describeFunction(node.callFrame);
    add(self, name, weight);
    const caller = nearestCodeCaller(id, byId, parent);
    if (caller) add(callers.get(name) ?? callers.set(name, new Map()).get(name)!, caller, weight);
    add(selfModule, moduleOf(node.callFrame), weight);
    const onStack = new Set<string>();
    const functionsOnStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      onStack.add(moduleOf(frame));
      if (frame.url && !frame.url.startsWith('node:')) functionsOnStack.add(describeFunction(frame));
    }
    for (const module of onStack) add(inclusiveModule, module, weight);
    // A recursive function counts once per sample.
    for (const name of functionsOnStack) add(inclusiveFunction, name, weight);
  });
  const lines = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busyUs }));
  const functions = lines(self);
  const topCallers = new Map(functions.slice(0, 10).map((line) => [line.name, lines(callers.get(line.name) ?? new Map<string, number>()).slice(0, 4)]));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions,
    selfByModule: lines(selfModule),
    inclusiveByModule: lines(inclusiveModule),
    inclusiveFunctions: [...inclusiveFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top * 2)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busyUs })),
    callers: topCallers,
  };
}

/** The first frame above a sample that is a package's or otpgate's code (native and Node internals skipped). */
function nearestCodeCaller(id: number, byId: Map<number, CpuProfile['nodes'][number]>, parent: Map<number, number>): string | undefined {
  for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)!.callFrame;
    if (frame.url && !frame.url.startsWith('node:')) return describeFunction(frame);
  }
  return undefined;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function describeFunction(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  return `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

/** `typeorm`, `@nestjs/core`, `otpgate dist/modules/otp/otp.service.js`, `node:internal`, `(garbage collector)`. */
export function moduleOf(frame: { functionName: string; url: string }): string {
  const { url } = frame;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node (internal)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `otpgate ${url.slice(dist + 1).replace(/^file:\/\//, '')}`;
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '');
}
