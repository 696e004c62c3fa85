import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import { AppModule } from '../src/app.module';
import { AppConfig } from '../src/config/app-config';
import { buildOpenApiDocument, configureHttpApp, HTTP_APP_OPTIONS, stableJson } from '../src/infra/http/http-app';

/** Regenerates the committed openapi.json from the app itself (`npm run openapi`). */
async function main(): Promise<void> {
  const config = new AppConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create(AppModule.register(config), { ...HTTP_APP_OPTIONS, bufferLogs: false, logger: false });
  configureHttpApp(app);
  await app.init();
  writeFileSync('openapi.json', stableJson(buildOpenApiDocument(app)));
  await app.close();
}

void main();
