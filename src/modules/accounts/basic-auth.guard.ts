import { applyDecorators, createParamDecorator, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ApiBasicAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Account } from './account.entity';

@Injectable()
export class BasicAuthGuard extends AuthGuard('basic') {}

/** Marks a controller as authenticated with Basic auth, in code and in the OpenAPI spec. */
export const BasicAuth = (): ClassDecorator & MethodDecorator => applyDecorators(UseGuards(BasicAuthGuard), ApiBasicAuth());

/** The authenticated account. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Account => {
  return context.switchToHttp().getRequest<FastifyRequest & { user: Account }>().user;
});
