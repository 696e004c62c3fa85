import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createTestDatabase } from '../support/databases';
import { Credentials, TestApp } from '../support/test-app';

/** The bootstrap token seeds an empty database; afterwards the stored token wins (hardening, item 10). */
describe('the root account across restarts', () => {
    it('survives a restart once rotated; BOOTSTRAP_RESET_TOKEN sets it again, saying so without the token', async () => {
      const database = await createTestDatabase();
      const root: Credentials = { sid: `AC${randomBytes(16).toString('hex')}`, token: randomBytes(16).toString('hex') };
      const lines: string[] = [];
      const logStream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString('utf8'));
          callback();
        },
      });
      // Every start logs to `lines`: the app started first in a test file owns the logger that Nest's messages go to.
      const start = (env: Record<string, string> = {}) => TestApp.start({ database, root, env: { LOG_LEVEL: 'info', ...env }, logStream });
      let app = await start();
      try {
        const rotated = (await app.http(root).post(`/accounts/${root.sid}/token`).expect(200)).body.data.authToken as string;
        await app.close();
        app = await start();
        await app.http(root).get(`/accounts/${root.sid}`).expect(401);
        await app.http({ sid: root.sid, token: rotated }).get(`/accounts/${root.sid}`).expect(200);
        await app.close();

        expect(lines.join('')).not.toContain('reset from BOOTSTRAP_AUTH_TOKEN');
        app = await start({ BOOTSTRAP_RESET_TOKEN: 'true' });
        await app.http(root).get(`/accounts/${root.sid}`).expect(200);
        await app.http({ sid: root.sid, token: rotated }).get(`/accounts/${root.sid}`).expect(401);
        const log = lines.join('');
        expect(log).toContain(`auth token of account ${root.sid} reset from BOOTSTRAP_AUTH_TOKEN`);
        expect(log).not.toContain(root.token);
      } finally {
        await app.close();
        await database.drop();
      }
    });
  });
