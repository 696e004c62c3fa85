import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorFunction, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import Redis from 'ioredis';
import { ok, Ok } from '../../common/envelope';
import { ApiErrors } from '../../common/swagger';

/** Liveness plus the dependencies: the database always, Redis when configured. Public. */
@ApiTags('Health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(Redis) private readonly redis?: Redis,
  ) {}

  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Health',
    description: 'Liveness and the health of the database, and of Redis when configured. Public: no credentials. 503 when a dependency is down.',
    security: [],
  })
  @ApiOkResponse({
    description: 'Everything is up',
    schema: {
      type: 'object',
      properties: { data: { type: 'object', description: 'The checks, as @nestjs/terminus reports them' }, code: { type: 'integer', example: 200 }, message: { type: 'string', example: 'OK' } },
      example: { data: { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: { database: { status: 'up' } } }, code: 200, message: 'OK' },
    },
  })
  @ApiErrors({ public: true })
  async check(): Promise<Ok<HealthCheckResult>> {
    const checks: HealthIndicatorFunction[] = [() => this.database.pingCheck('database', { timeout: 2000 })];
    const redis = this.redis;
    if (redis) {
      checks.push(async () => {
        const session = this.indicators.check('redis');
        try {
          await redis.ping();
          return session.up();
        } catch {
          return session.down();
        }
      });
    }
    return ok(await this.health.check(checks));
  }
}
