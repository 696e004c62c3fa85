import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule } from '@bull-board/nestjs';
import { DynamicModule } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ERROR_CATALOGUE } from '../../common/errors/error-catalogue';
import { AccountsModule } from '../accounts/accounts.module';
import { AccountsService } from '../accounts/accounts.service';
import { CHANNELS } from '../otp/otp.entity';

export const DASHBOARD_ROUTE = '/admin/queues';

/** The BullMQ dashboard (bull-board) at /admin/queues, for a root account's credentials only. */
export function queueDashboard(): DynamicModule[] {
  return [
    BullBoardModule.forRootAsync({
      imports: [AccountsModule],
      inject: [AccountsService],
      useFactory: (accounts: AccountsService) => ({ route: DASHBOARD_ROUTE, adapter: ExpressAdapter, middleware: rootOnly(accounts) }),
    }),
    BullBoardModule.forFeature(...CHANNELS.map((name) => ({ name, adapter: BullMQAdapter }))),
  ];
}

function rootOnly(accounts: AccountsService): RequestHandler {
  const { code, status, message } = ERROR_CATALOGUE.AUTH_FAILED;
  return (req: Request, res: Response, next: NextFunction) => {
    const [scheme, encoded = ''] = (req.headers.authorization ?? '').split(' ');
    const [sid, ...rest] = Buffer.from(encoded, 'base64').toString('utf8').split(':');
    const refuse = (): void => {
      res.setHeader('WWW-Authenticate', 'Basic realm="otpgate"');
      res.status(status).json({ code, message, requestID: null });
    };
    if (scheme?.toLowerCase() !== 'basic' || !sid) return refuse();
    accounts.authenticate(sid, rest.join(':')).then(
      (account) => (account && account.parentSid === null ? next() : refuse()),
      (error: unknown) => next(error),
    );
  };
}
