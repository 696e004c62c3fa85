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
      whatsapp: { provider: 'console', apiUrl: 'https://graph.facebook.com/v21.0', appSecret: undefined, verifyToken: undefined },
      delivery: { attempts: 5, backoffMs: 1000 },
      webhooks: { retryScheduleMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000], privateAddresses: 'allow', timeoutMs: 10_000 },
      idempotencyTtlMs: 86_400_000,
    });
  });

  it('reads a retry schedule in ms, s, m and h', () => {
    expect(new AppConfig({ ...base, WEBHOOK_RETRY_SCHEDULE: '250ms, 2s,1m,1h' }).webhooks.retryScheduleMs).toEqual([250, 2000, 60_000, 3_600_000]);
  });

  it.each([
    [{ SMS_PROVIDER: 'smpp' }, 'SMPP_URL is required by the configured provider'],
    [{ SMS_PROVIDER: 'smpp', SMPP_URL: 'smpp://127.0.0.1:2775' }, 'SMPP_URL must be smpp://system_id:password@host:port'],
    [{ SMS_PROVIDER: 'http' }, 'SMS_HTTP_URL is required by the configured provider'],
    [{ SMS_PROVIDER: 'http', SMS_HTTP_URL: 'ftp://x' }, 'SMS_HTTP_URL must be a http:// or https:// URL'],
    [{ SMS_PROVIDER: 'carrier-pigeon' }, 'SMS_PROVIDER must be one of console, smpp, http'],
    [{ VOICE_PROVIDER: 'twiml', VOICE_API_URL: 'https://api.example/2010-04-01' }, 'VOICE_ACCOUNT_SID is required by the configured provider'],
    [{ EMAIL_PROVIDER: 'smtp' }, 'SMTP_URL is required by the configured provider'],
    [{ WHATSAPP_PROVIDER: 'meta' }, 'WHATSAPP_PROVIDER must be one of console, cloud'],
    [{ WHATSAPP_PROVIDER: 'cloud' }, 'WHATSAPP_PHONE_NUMBER_ID is required by the configured provider'],
    [{ WHATSAPP_PROVIDER: 'cloud', WHATSAPP_PHONE_NUMBER_ID: '+12055550100' }, "WHATSAPP_PHONE_NUMBER_ID must be the phone number's id in WhatsApp Manager (digits only)"],
    [{ WHATSAPP_PROVIDER: 'cloud', WHATSAPP_PHONE_NUMBER_ID: '106540352242922' }, 'WHATSAPP_TOKEN is required by the configured provider'],
    [{ WHATSAPP_PROVIDER: 'cloud', WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_TOKEN: 'EAAG' }, 'WHATSAPP_TEMPLATE is required by the configured provider'],
    [{ WHATSAPP_PROVIDER: 'cloud', WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_TOKEN: 'EAAG', WHATSAPP_TEMPLATE: 'OTP Code' }, 'WHATSAPP_TEMPLATE must be a template name: lower-case letters, digits and underscores'],
    [{ WHATSAPP_API_URL: 'graph.facebook.com/v21.0' }, 'WHATSAPP_API_URL is not a valid URL'],
    [{ WHATSAPP_API_URL: 'ftp://graph.facebook.com' }, 'WHATSAPP_API_URL must be a http:// or https:// URL'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL must start with sqlite:, mysql:// or mariadb://'],
    [{ DATABASE_URL: 'mysql://root@127.0.0.1:3306/otpgate' }, 'APP_SECRET is required when DATABASE_URL is a MySQL database'],
    [{ ROLE: 'worker' }, 'REDIS_URL is required when ROLE=worker'],
    [{ PORT: 'eighty' }, 'PORT must be an integer between 0 and 65535'],
    [{ APP_SECRET: 'short' }, 'APP_SECRET must be at least 32 characters'],
    [{ APP_SECRET: `${'n'.repeat(32)},short` }, 'APP_SECRET must be at least 32 characters'],
    [{ BOOTSTRAP_ACCOUNT_SID: `AC${'0'.repeat(32)}`, BOOTSTRAP_AUTH_TOKEN: 'token:with:colons' }, 'BOOTSTRAP_AUTH_TOKEN must not contain ":"'],
    [{ BOOTSTRAP_ACCOUNT_SID: 'AC123' , BOOTSTRAP_AUTH_TOKEN: 'x'.repeat(32) }, 'BOOTSTRAP_ACCOUNT_SID must be AC followed by 32 lowercase hex digits'],
    [{ WEBHOOK_RETRY_SCHEDULE: '5s,soon' }, 'WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated delays of at most 24h, such as 5s,5m,30m,2h (units ms, s, m, h)'],
    [{ WEBHOOK_RETRY_SCHEDULE: '5s,25h' }, 'WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated delays of at most 24h, such as 5s,5m,30m,2h (units ms, s, m, h)'],
    [{ WEBHOOK_PRIVATE_ADDRESSES: 'block' }, 'WEBHOOK_PRIVATE_ADDRESSES must be one of allow, deny'],
    [{ IDEMPOTENCY_TTL_S: '10' }, 'IDEMPOTENCY_TTL_S must be an integer between 60 and 2592000'],
  ])('refuses %p: %s', (env, message) => {
    expect(() => new AppConfig({ ...base, ...env })).toThrow(new ConfigError(message));
  });

  it('reads the WhatsApp Cloud API settings', () => {
    const env = { WHATSAPP_PROVIDER: 'cloud', WHATSAPP_API_URL: 'https://graph.example/v22.0', WHATSAPP_PHONE_NUMBER_ID: '106540352242922', WHATSAPP_TOKEN: 'EAAG', WHATSAPP_TEMPLATE: 'otp_code_2' };
    expect(new AppConfig({ ...base, ...env, WHATSAPP_APP_SECRET: 'app-secret', WHATSAPP_VERIFY_TOKEN: 'verify' }).whatsapp).toEqual({
      provider: 'cloud',
      apiUrl: 'https://graph.example/v22.0',
      phoneNumberId: '106540352242922',
      token: 'EAAG',
      template: 'otp_code_2',
      appSecret: 'app-secret',
      verifyToken: 'verify',
    });
  });

  it('stops start-up with one line naming the variable', async () => {
    const otpgate = OtpgateProcess.spawn({ ...base, SMS_PROVIDER: 'smpp' });
    expect(await otpgate.exited).toBe(1);
    expect(otpgate.output.trim()).toBe('otpgate: invalid configuration: SMPP_URL is required by the configured provider');
  });
});
