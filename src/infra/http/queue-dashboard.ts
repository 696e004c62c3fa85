import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../../common/errors/app-error';
import { BasicAuthenticator } from '../../modules/accounts/basic-authenticator';
import { CHANNELS } from '../../modules/channels/channel';

export const DASHBOARD_ROUTE = '/admin/queues';

/**
 * The BullMQ dashboard (bull-board) at /admin/queues, for a root account's credentials only,
 * checked by the API's own Basic authenticator before any of the dashboard's routes.
 */
export function mountQueueDashboard(app: INestApplication): void {
  const board = new ExpressAdapter().setBasePath(DASHBOARD_ROUTE);
  createBullBoard({ queues: CHANNELS.map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))), serverAdapter: board });
  app.use(DASHBOARD_ROUTE, rootOnly(app.get(BasicAuthenticator)), board.getRouter() as RequestHandler);
}

function rootOnly(authenticator: BasicAuthenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    authenticator.authenticate(req).then((account) => {
      if (account?.parentSid === null) return next();
      const refusal = new AppError('AUTH_FAILED');
      res.setHeader('WWW-Authenticate', 'Basic realm="otpgate"');
      res.status(refusal.status).json(refusal.envelope);
    }, next);
  };
}
