import { DynamicModule, Global, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { AppConfig } from '../../config/app-config';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/**
 * Prometheus metrics: on the main port (MetricsController), or with METRICS_PORT on a port of
 * their own, in api and worker processes alike, so that the scrape port need not be public.
 */
@Global()
@Module({})
export class MetricsModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  static register(config: AppConfig): DynamicModule {
    return {
      module: MetricsModule,
      controllers: config.metricsPort === undefined ? [MetricsController] : [],
      providers: [MetricsService],
      exports: [MetricsService],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.metricsPort;
    if (port === undefined) {
      if (this.config.runsApi && this.config.metricsNeedToken && !this.config.metricsToken) {
        this.logger.warn('/metrics answers no one: set METRICS_TOKEN, or METRICS_PORT to serve it on a port of its own');
      }
      return;
    }
    this.server = createServer((req, res) => {
      const known = req.url === '/metrics' && req.method === 'GET';
      (known ? this.metrics.registry.metrics() : Promise.resolve('')).then(
        (text) => res.writeHead(known ? 200 : 404, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(port, resolve));
    this.logger.log(`metrics on port ${port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
