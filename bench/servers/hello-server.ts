/**
 * The framework's ceiling: a real NestJS 11 app on Express with the same request pipeline as
 * otpgate (JSON body parser, a global ValidationPipe with transform + whitelist, a class-validator
 * DTO) and one POST route that does no I/O. Nothing otpgate does per request can be cheaper.
 *   PORT=3000 node hello-server.js
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import express from 'express';
import { randomBytes } from 'node:crypto';

class HelloDto {
  @IsNotEmpty()
  @IsString()
  @MaxLength(128)
  service: string;

  @IsNotEmpty()
  @IsString()
  @MaxLength(320)
  to: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  body?: string;
}

@Controller()
class HelloController {
  @Post('hello')
  @HttpCode(200)
  hello(@Body() _input: HelloDto): { code: 200; message: string; requestID: string } {
    // An id from the CSPRNG, as a send answers, so the response has otpgate's shape and size.
    return { code: 200, message: 'OK', requestID: `OTP${randomBytes(16).toString('hex')}` };
  }
}

@Module({ controllers: [HelloController] })
class HelloModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(HelloModule, { bodyParser: false, logger: ['error', 'warn'] });
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true }));
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
