import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors/app-error';
import { AccountsService } from '../accounts/accounts.service';
import { CHANNELS } from '../otp/otp.entity';

export const DASHBOARD_ROUTE = '/admin/queues';

/**
 * The BullMQ dashboard (bull-board) at /admin/queues, for a root account's credentials only: its
 * routes live in a Fastify scope of their own whose first hook checks them.
 */
export async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const board = new FastifyAdapter().setBasePath(DASHBOARD_ROUTE);
  createBullBoard({ queues: CHANNELS.map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)))), serverAdapter: board });
  const rootOnly = rootOnlyHook(app.get(AccountsService));
  await app.register(async (scope: FastifyInstance) => {
    scope.addHook('onRequest', rootOnly);
    await scope.register(board.registerPlugin(), { prefix: DASHBOARD_ROUTE });
  });
}

function rootOnlyHook(accounts: AccountsService): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const refusal = new AppError('AUTH_FAILED');
  return async (request, reply) => {
    const [scheme, encoded = ''] = (request.headers.authorization ?? '').split(' ');
    const [sid, ...rest] = Buffer.from(encoded, 'base64').toString('utf8').split(':');
    const account = scheme?.toLowerCase() === 'basic' && sid ? await accounts.authenticate(sid, rest.join(':')) : null;
    if (account?.parentSid === null) return undefined;
    return reply.header('WWW-Authenticate', 'Basic realm="otpgate"').code(refusal.status).send(refusal.envelope);
  };
}
