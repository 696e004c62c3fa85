import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig, ConfigError, loadDotEnv } from './config/app-config';
import { configureHttpApp } from './http-app';

async function bootstrap(): Promise<void> {
  loadDotEnv();
  const config = new AppConfig(process.env);
  if (!config.runsApi) {
    // ROLE=worker: the channel processors only, no HTTP port.
    const context = await NestFactory.createApplicationContext(AppModule.register(config), { bufferLogs: true });
    context.useLogger(context.get(Logger));
    context.enableShutdownHooks();
    await context.init();
    return;
  }
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { bodyParser: false, bufferLogs: true });
  configureHttpApp(app);
  await app.listen(config.port);
  app.get(Logger).log(`otpgate listening on port ${config.port} (role ${config.role}, ${config.database.type}${config.redisUrl ? ' + redis' : ''})`);
}

bootstrap().catch((error: unknown) => {
  // Configuration errors are one clear line naming the variable; anything else keeps its stack.
  console.error(error instanceof ConfigError ? `otpgate: invalid configuration: ${error.message}` : error);
  process.exit(1);
});
