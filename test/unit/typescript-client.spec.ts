import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OtpgateError } from '../../clients/typescript/src';

const CLIENT = join(__dirname, '../../clients/typescript');

describe('the TypeScript client', () => {
  it('keeps the committed src/schema.ts equal to what openapi.json generates (run `npm run client`)', async () => {
    // In a process of its own: openapi-typescript loads ES modules, which jest's CommonJS runtime cannot.
    const { stdout: generated } = await promisify(execFile)(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/generate-schema.ts', '--stdout'], {
      cwd: CLIENT,
      maxBuffer: 64 * 1024 * 1024,
    });
    const committed = readFileSync(join(CLIENT, 'src/schema.ts'), 'utf8');
    if (generated !== committed) {
      const [ours, theirs] = [generated.split('\n'), committed.split('\n')];
      const differing = ours.findIndex((text, index) => text !== theirs[index]);
      const line = differing < 0 ? ours.length : differing;
      throw new Error(
        `clients/typescript/src/schema.ts is stale: run \`npm run client\` and commit it.\n` +
          `First difference, line ${line + 1}:\n  generated: ${ours[line] ?? '(end of file)'}\n  committed: ${theirs[line] ?? '(end of file)'}`,
      );
    }
  }, 60_000);

  describe('OtpgateError.from', () => {
    it("takes code, message and requestID from otpgate's envelope, and Retry-After in seconds", () => {
      const response = new Response(null, { status: 429, headers: { 'Retry-After': '42' } });
      const error = OtpgateError.from(response, { code: 454, message: 'Limit exceeded: per_phone', requestID: null });
      expect(error).toMatchObject({ name: 'OtpgateError', status: 429, code: 454, message: 'Limit exceeded: per_phone', requestId: null, retryAfter: 42 });
      expect(error).toBeInstanceOf(Error);
    });

    it('reads a Retry-After given as an HTTP date (a proxy may send one) as seconds from now', () => {
      const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
      const error = OtpgateError.from(new Response(null, { status: 503, headers: { 'Retry-After': inTwoMinutes } }), { code: 503, message: 'Service unavailable', requestID: null });
      expect(error.retryAfter).toBeGreaterThanOrEqual(118);
      expect(error.retryAfter).toBeLessThanOrEqual(120);
      expect(OtpgateError.from(new Response(null, { status: 503, headers: { 'Retry-After': 'soon' } }), undefined).retryAfter).toBeUndefined();
    });

    it("gives the HTTP status as the code when the body is not otpgate's envelope (a proxy's error page)", () => {
      const error = OtpgateError.from(new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }), '<html>Bad Gateway</html>');
      expect(error).toMatchObject({ status: 502, code: 502, message: 'HTTP 502 Bad Gateway', requestId: null, retryAfter: undefined });
    });
  });
});
