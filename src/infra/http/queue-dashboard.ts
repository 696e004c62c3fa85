import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../../common/errors/app-error';
import { AuthGate } from '../../modules/accounts/auth-gate';
import { CHANNELS } from '../../modules/channels/channel';
import { WEBHOOK_QUEUE } from '../../modules/webhooks/queue/bullmq-webhook-queue';

export const DASHBOARD_ROUTE = '/admin/queues';

/**
 * The BullMQ dashboard (bull-board) at /admin/queues (the channel queues and `webhooks`), for a root account's credentials only,
 * checked by the API's own Basic authenticator before any of the dashboard's routes.
 */
export function mountQueueDashboard(app: INestApplication): void {
  const board = new ExpressAdapter().setBasePath(DASHBOARD_ROUTE);
  const queues = [...CHANNELS, WEBHOOK_QUEUE].map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name))));
  createBullBoard({ queues, serverAdapter: board });
  app.use(DASHBOARD_ROUTE, rootOnly(app.get(AuthGate)), board.getRouter() as RequestHandler);
}

/** Refusals go to the app's error filter, which answers them in the envelope (401 with its challenge). */
function rootOnly(gate: AuthGate): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    gate.admit(req).then((account) => next(account.parentSid === null ? undefined : new AppError('AUTH_FAILED')), next);
  };
}
