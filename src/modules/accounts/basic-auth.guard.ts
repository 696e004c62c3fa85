import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { ApiBasicAuth } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { Account } from './account.entity';
import { AuthGate } from './auth-gate';

type AuthenticatedRequest = IncomingMessage & { user?: Account };

/** Admits a request with the credentials of an active account, which becomes the `Caller`. */
@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(private readonly gate: AuthGate) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.user = await this.gate.admit(request);
    return true;
  }
}

/** Marks a controller as authenticated with Basic auth, in code and in the OpenAPI spec. */
export const BasicAuth = (): ClassDecorator & MethodDecorator => applyDecorators(UseGuards(BasicAuthGuard), ApiBasicAuth());

/** The authenticated account. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Account => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>().user!;
});
