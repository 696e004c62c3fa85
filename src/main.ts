import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig, ConfigError, loadDotEnv, StartupError } from './config/app-config';
import { configureHttpApp, HTTP_APP_OPTIONS } from './infra/http/http-app';

async function bootstrap(): Promise<void> {
  loadDotEnv();
  const config = new AppConfig(process.env);
  if (!config.runsApi) {
    // ROLE=worker: the channel processors only, no HTTP port.
    const context = await NestFactory.createApplicationContext(AppModule.register(config), { bufferLogs: true, autoFlushLogs: false, abortOnError: false });
    context.useLogger(context.get(Logger));
    context.flushLogs();
    await context.init();
    exitOnSignals(context);
    context.get(Logger).log(`otpgate worker started (${config.database.type} + redis)`);
    return;
  }
  const app = await NestFactory.create(AppModule.register(config), HTTP_APP_OPTIONS);
  configureHttpApp(app);
  await app.listen(config.port, '0.0.0.0');
  exitOnSignals(app);
  app.get(Logger).log(`otpgate listening on port ${config.port} (role ${config.role}, ${config.database.type}${config.redisUrl ? ' + redis' : ''})`);
}

/** Bounds a graceful shutdown; past it the process exits anyway, non-zero. */
const SHUTDOWN_TIMEOUT_MS = 25_000;

/**
 * SIGTERM/SIGINT: stop accepting connections, let in-flight requests and jobs finish, close the
 * database and Redis connections (Nest's shutdown hooks), then exit 0, within a bound.
 */
function exitOnSignals(app: INestApplicationContext): void {
  const shutdown = (signal: NodeJS.Signals): void => {
    app.get(Logger).log(`${signal} received, shutting down`);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

bootstrap().catch((error: unknown) => {
  // Configuration and start-up errors are one clear line naming what is wrong; anything else keeps its stack.
  if (error instanceof ConfigError) console.error(`otpgate: invalid configuration: ${error.message}`);
  else if (error instanceof StartupError) console.error(`otpgate: cannot start: ${error.message}`);
  else console.error(error);
  process.exit(1);
});
