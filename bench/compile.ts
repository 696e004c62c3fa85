import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as ts from 'typescript';

export interface OtpgateBuild {
  /** The compiled entry point (dist/main.js). */
  main: string;
  /** The node flags of `npm run start:prod` (the heap cap), so that otpgate runs here as deployed. */
  nodeArgs: string[];
}

/**
 * Builds otpgate (`nest build`, as `npm start` does) so the targets run compiled JavaScript, not
 * ts-node: the TypeScript compiler in memory would add tens of MB to every RSS figure.
 */
export function buildOtpgate(appDir: string, skip: boolean): OtpgateBuild {
  const main = join(appDir, 'dist/main.js');
  if (!skip) execFileSync(join(appDir, 'node_modules/.bin/nest'), ['build'], { cwd: appDir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(main)) throw new Error(`${main} is missing: run without BENCH_SKIP_BUILD`);
  const { scripts } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { scripts: Record<string, string | undefined> };
  return { main, nodeArgs: (scripts['start:prod'] ?? '').split(/\s+/).filter((arg) => arg.startsWith('--')) };
}

export interface CompiledServers {
  dir: string;
  /** NODE_PATH for them: they live outside the repository but import its packages. */
  nodePath: string;
  remove(): void;
}

/**
 * Transpiles bench/servers/*.ts (the hello and floor servers) into a temporary directory, with
 * the repository's compiler options (decorator metadata for the Nest DTO).
 */
export function compileServers(repoDir: string): CompiledServers {
  const source = join(repoDir, 'bench/servers');
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-bench-servers-'));
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    useDefineForClassFields: false,
    esModuleInterop: true,
  };
  for (const file of readdirSync(source).filter((name) => name.endsWith('.ts'))) {
    const output = ts.transpileModule(readFileSync(join(source, file), 'utf8'), { compilerOptions, fileName: file });
    writeFileSync(join(dir, basename(file, '.ts') + '.js'), output.outputText);
  }
  return { dir, nodePath: join(repoDir, 'node_modules'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
