import { Controller, Get, Header, Headers } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config/app-config';
import { MetricsService } from './metrics.service';

/**
 * Prometheus scrape endpoint on the main port: behind `Authorization: Bearer <METRICS_TOKEN>`
 * when a token is set, and in production (MySQL), where without one it answers no one; open on
 * the embedded default. With METRICS_PORT it is not here at all (MetricsModule).
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(@Headers('authorization') authorization?: string): Promise<string> {
    const token = this.config.metricsToken;
    if (this.config.metricsNeedToken && !(token && sameText(authorization ?? '', `Bearer ${token}`))) throw new AppError('AUTH_FAILED');
    return this.metrics.registry.metrics();
  }
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
