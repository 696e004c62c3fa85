import { AppConfig, ConfigError } from '../../src/config/app-config';
import { OtpgateProcess } from '../support/process';

describe('configuration', () => {
  const base = { DATABASE_URL: 'sqlite::memory:' };

  it('has the documented defaults', () => {
    const config = new AppConfig({});
    expect(config).toMatchObject({
      port: 3000,
      role: 'all',
      database: { type: 'sqlite', database: 'data/otpgate.sqlite' },
      redisUrl: undefined,
      sms: { provider: 'console' },
      voice: { provider: 'console' },
      email: { provider: 'console' },
      delivery: { attempts: 5, backoffMs: 1000 },
    });
  });

  it.each([
    [{ SMS_PROVIDER: 'smpp' }, 'SMPP_URL is required by the configured provider'],
    [{ SMS_PROVIDER: 'smpp', SMPP_URL: 'smpp://127.0.0.1:2775' }, 'SMPP_URL must be smpp://system_id:password@host:port'],
    [{ SMS_PROVIDER: 'http' }, 'SMS_HTTP_URL is required by the configured provider'],
    [{ SMS_PROVIDER: 'http', SMS_HTTP_URL: 'ftp://x' }, 'SMS_HTTP_URL must be a http:// or https:// URL'],
    [{ SMS_PROVIDER: 'carrier-pigeon' }, 'SMS_PROVIDER must be one of console, smpp, http'],
    [{ VOICE_PROVIDER: 'twiml', VOICE_API_URL: 'https://api.example/2010-04-01' }, 'VOICE_ACCOUNT_SID is required by the configured provider'],
    [{ EMAIL_PROVIDER: 'smtp' }, 'SMTP_URL is required by the configured provider'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL must start with sqlite:, mysql:// or mariadb://'],
    [{ DATABASE_URL: 'mysql://root@127.0.0.1:3306/otpgate' }, 'APP_SECRET is required when DATABASE_URL is a MySQL database'],
    [{ ROLE: 'worker' }, 'REDIS_URL is required when ROLE=worker'],
    [{ PORT: 'eighty' }, 'PORT must be an integer between 0 and 65535'],
    [{ APP_SECRET: 'short' }, 'APP_SECRET must be at least 32 characters'],
    [{ APP_SECRET: `${'n'.repeat(32)},short` }, 'APP_SECRET must be at least 32 characters'],
    [{ BOOTSTRAP_ACCOUNT_SID: `AC${'0'.repeat(32)}`, BOOTSTRAP_AUTH_TOKEN: 'token:with:colons' }, 'BOOTSTRAP_AUTH_TOKEN must not contain ":"'],
    [{ BOOTSTRAP_ACCOUNT_SID: 'AC123' , BOOTSTRAP_AUTH_TOKEN: 'x'.repeat(32) }, 'BOOTSTRAP_ACCOUNT_SID must be AC followed by 32 lowercase hex digits'],
  ])('refuses %p: %s', (env, message) => {
    expect(() => new AppConfig({ ...base, ...env })).toThrow(new ConfigError(message));
  });

  it('stops start-up with one line naming the variable', async () => {
    const otpgate = OtpgateProcess.spawn({ ...base, SMS_PROVIDER: 'smpp' });
    expect(await otpgate.exited).toBe(1);
    expect(otpgate.output.trim()).toBe('otpgate: invalid configuration: SMPP_URL is required by the configured provider');
  });
});
