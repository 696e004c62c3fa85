import { existsSync } from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';
import { buildOpenApiDocument } from '../../src/infra/http/http-app';
import { currentDriver } from '../support/databases';
import { ConsoleLog } from '../support/console-log';
import { TestApp } from '../support/test-app';

const CHROMIUM = '/usr/bin/chromium';

interface Example {
  value: Record<string, unknown>;
}

/** openapi.json as a new user meets it: its first examples work as they are, in Swagger UI too. */
describe('the API contract on a fresh install', () => {
  let app: TestApp;
  const log = new ConsoleLog();
  const codeOf = (requestId: string): Promise<string> => log.codeOf(requestId);

  beforeAll(async () => {
    app = await TestApp.start({ env: { LOG_LEVEL: 'info' }, logStream: log.stream });
  });

  afterAll(() => app.close());

  it("answers each operation's first body example as a user of a fresh install would want", async () => {
    const document = buildOpenApiDocument(app.app);
    const firstExample = (path: string): Record<string, unknown> => {
      const body = document.paths[path].post!.requestBody as { content: Record<string, { examples: Record<string, Example> }> };
      return Object.values(body.content['application/json'].examples)[0].value;
    };
    const sent = await app.http(app.root).post('/2fa/send').send(firstExample('/2fa/send')).expect(200);
    await app.http(app.root).post('/2fa/limits').send(firstExample('/2fa/limits')).expect(200);
    await app.http(app.root).post('/accounts').send(firstExample('/accounts')).expect(200);
    // verify and cancel name a requestID of the reader's own; with the one the send answered, they work.
    await app.http(app.root).post('/2fa/verify').send(firstExample('/2fa/verify')).expect(404);
    await app.http(app.root).post('/2fa/cancel').send({ ...firstExample('/2fa/cancel'), requestId: sent.body.requestID }).expect(200);
    // The send variant under a named limit works once that limit exists (the create example above made it).
    const body = document.paths['/2fa/send'].post!.requestBody as { content: Record<string, { examples: Record<string, Example> }> };
    await app.http(app.root).post('/2fa/send').send(body.content['application/json'].examples.limits.value).expect(200);
    expect(JSON.stringify(document)).not.toMatch(/"accountSid":\s*"string"/);
  });

  (currentDriver() === 'sqlite' ? describe : describe.skip)('in Swagger UI, in a real browser', () => {
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`Swagger UI is checked in Debian's chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      page = await browser.newPage();
    });

    afterAll(() => browser?.close());

    /** Opens an operation, presses "Try it out", optionally replaces the body, executes, and reads the answer. */
    const execute = async (operationId: string, body?: object): Promise<{ status: number; json: Record<string, unknown> }> => {
      const operation = page.locator(`[id$="-${operationId}"]`);
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('button.try-out__btn').click();
      if (body) await operation.locator('textarea.body-param__text').fill(JSON.stringify(body));
      await operation.locator('button.execute').click();
      const response = operation.locator('.live-responses-table .response').first();
      await response.waitFor();
      const status = Number((await response.locator('.response-col_status').innerText()).trim());
      const json = JSON.parse(await response.locator('.response-col_description pre.microlight').first().innerText()) as Record<string, unknown>;
      await operation.locator('.opblock-summary').first().click();
      return { status, json };
    };

    it('authorizes with Basic credentials, sends with the default example, then verifies and cancels', async () => {
      // The example's destination was used a moment ago: past the default limit's minute.
      app.clock.advance(61_000);
      await page.goto(`${app.url}/docs`);
      await page.locator('button.authorize').first().click();
      const dialog = page.locator('.modal-ux');
      await dialog.locator('input[type="text"]').first().fill(app.root.sid);
      await dialog.locator('input[type="password"]').first().fill(app.root.token);
      await dialog.locator('button.authorize').click();
      await dialog.locator('button.btn-done').click();

      const sent = await execute('Otp_send');
      expect(sent.status).toBe(200);
      expect(sent.json).toEqual({ code: 200, message: 'OK', requestID: expect.stringMatching(/^OTP[0-9a-f]{32}$/) });
      const requestId = sent.json.requestID as string;

      const verified = await execute('Otp_verify', { requestId, code: await codeOf(requestId) });
      expect(verified).toEqual({ status: 200, json: { code: 200, message: 'verified', requestID: requestId } });
      const canceled = await execute('Otp_cancel', { requestId });
      expect(canceled).toEqual({ status: 409, json: { code: 471, message: 'OTP is already verified', requestID: requestId } });
    });
  });
});
