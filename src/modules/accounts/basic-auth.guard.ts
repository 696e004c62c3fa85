import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { ApiBasicAuth } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../common/errors/app-error';
import { Account } from './account.entity';
import { BasicAuthenticator } from './basic-authenticator';

type AuthenticatedRequest = IncomingMessage & { user?: Account };

/** Admits a request with the credentials of an active account, which becomes the `Caller`. */
@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(private readonly authenticator: BasicAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const account = await this.authenticator.authenticate(request);
    if (!account) throw new AppError('AUTH_FAILED');
    request.user = account;
    return true;
  }
}

/** Marks a controller as authenticated with Basic auth, in code and in the OpenAPI spec. */
export const BasicAuth = (): ClassDecorator & MethodDecorator => applyDecorators(UseGuards(BasicAuthGuard), ApiBasicAuth());

/** The authenticated account. */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Account => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>().user!;
});
