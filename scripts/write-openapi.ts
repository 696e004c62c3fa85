import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { writeFileSync } from 'node:fs';
import { AppModule } from '../src/app.module';
import { AppConfig } from '../src/config/app-config';
import { buildOpenApiDocument, configureHttpApp, createHttpAdapter, stableJson } from '../src/http-app';

/** Regenerates the committed openapi.json from the app itself (`npm run openapi`). */
async function main(): Promise<void> {
  const config = new AppConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), createHttpAdapter(), { bodyParser: false, logger: false });
  await configureHttpApp(app);
  await app.init();
  writeFileSync('openapi.json', stableJson(buildOpenApiDocument(app)));
  await app.close();
}

void main();
