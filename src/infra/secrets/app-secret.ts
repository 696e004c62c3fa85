import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';

/**
 * APP_SECRET's secrets when configured (newest first). The embedded default generates one on
 * first start and keeps it beside the database (mode 0600 in a 0700 directory), so hashes and
 * queued jobs survive a restart; an in-memory database gets a secret that lives as long as the process.
 */
export function resolveAppSecrets(config: AppConfig): string[] {
  if (config.appSecrets.length) return config.appSecrets;
  const dir = config.dataDir;
  if (!dir) return [randomBytes(32).toString('hex')];
  const file = join(dir, 'app-secret');
  if (existsSync(file)) return [readFileSync(file, 'utf8').trim()];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  new Logger('Secrets').log(`generated APP_SECRET in ${file}`);
  return [secret];
}
