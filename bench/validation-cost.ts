// The global ValidationPipe's CPU time per request on a send and a verify body, in this process
// (class-transformer and class-validator, as every request runs them): what precompiling the
// DTOs could save at most. `npx ts-node --transpile-only bench/validation-cost.ts`
import 'reflect-metadata';
import { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe } from '../src/common/validation';
import { SendOtpDto, VerifyOtpDto } from '../src/modules/otp/dto/otp.dto';

const ROUNDS = 20_000;

async function measure(name: string, metatype: ArgumentMetadata['metatype'], body: Record<string, unknown>): Promise<void> {
  const pipe = createValidationPipe();
  const metadata: ArgumentMetadata = { type: 'body', metatype };
  for (let i = 0; i < 2000; i++) await pipe.transform({ ...body }, metadata);
  const start = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) await pipe.transform({ ...body }, metadata);
  const used = process.cpuUsage(start);
  console.log(`${name}: ${((used.user + used.system) / ROUNDS / 1000).toFixed(4)} ms CPU per request`);
}

void (async () => {
  await measure('send', SendOtpDto, { service: '2FA', from: 'OTPGATE', to: '+12055550100', body: 'Your code is {code}' });
  await measure('send with limits', SendOtpDto, { service: '2FA', from: 'OTPGATE', to: '+12055550100', body: 'Your code is {code}', limits: { per_phone: '+12055550100' } });
  await measure('send with fallback', SendOtpDto, { service: '2FA', from: '+12055550199', to: '+12055550100', body: 'Your code is {code}', fallback: [{ channel: 'call', after: 30 }] });
  await measure('verify', VerifyOtpDto, { requestId: 'OTP5f0d3a1e2b4c4d6e8f9a0b1c2d3e4f5a', code: '123456' });
})();
