import { Module } from '@nestjs/common';
import { IdempotencyKeys } from './idempotency-keys';
import { IdempotencySweeper } from './idempotency-sweeper';

/** Idempotency keys (SPEC §10.1): the one owner of `idempotency_key`. */
@Module({
  providers: [IdempotencyKeys, IdempotencySweeper],
  exports: [IdempotencyKeys],
})
export class IdempotencyModule {}
