import { createHmac } from 'node:crypto';
import { AppError } from '../../src/common/errors/app-error';
import { receiptsOf, sameSecret, validSignature } from '../../src/modules/channels/providers/whatsapp/whatsapp-statuses';

describe('WhatsApp status callbacks', () => {
  const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');
  const hex = createHmac('sha256', 'app-secret').update(body).digest('hex');

  it('admits the HMAC-SHA256 of the raw body with the app secret, in either case of hex', () => {
    expect(validSignature('app-secret', body, `sha256=${hex}`)).toBe(true);
    expect(validSignature('app-secret', body, `sha256=${hex.toUpperCase()}`)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['another secret', `sha256=${createHmac('sha256', 'other').update(body).digest('hex')}`],
    ['another algorithm', `sha1=${createHmac('sha1', 'app-secret').update(body).digest('hex')}`],
    ['a truncated signature', `sha256=${hex.slice(0, 63)}`],
    ['a longer one', `sha256=${hex}00`],
    ['not hex', `sha256=${'z'.repeat(64)}`],
  ])('refuses %s', (_, header) => {
    expect(validSignature('app-secret', body, header)).toBe(false);
  });

  it('compares verify tokens of any length', () => {
    expect(sameSecret('verify-me', 'verify-me')).toBe(true);
    expect(sameSecret('verify-m', 'verify-me')).toBe(false);
    expect(sameSecret('', 'verify-me')).toBe(false);
  });

  it('turns delivered and read into delivered, failed into undelivered with the title and code, and ignores the rest', () => {
    const payload = {
      object: 'whatsapp_business_account',
      entry: [
        {
          changes: [
            {
              field: 'messages',
              value: {
                statuses: [
                  { id: 'wamid.1', status: 'sent' },
                  { id: 'wamid.1', status: 'delivered' },
                  { id: 'wamid.2', status: 'read' },
                  { id: 'wamid.3', status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message' }] },
                  { id: 'wamid.4', status: 'failed' },
                  { id: 'wamid.5', status: 'failed', errors: [{ title: '  ' }] },
                  { id: 'x'.repeat(129), status: 'delivered' },
                  { id: 42, status: 'delivered' },
                  null,
                ],
              },
            },
            { field: 'messages', value: { messages: [{ from: '12055550100', text: { body: 'hi' } }] } },
            { field: 'message_template_status_update', value: { statuses: [{ id: 'wamid.6', status: 'delivered' }] } },
          ],
        },
        { id: 'no changes' },
      ],
    };
    expect(receiptsOf(payload)).toEqual([
      { providerMessageId: 'wamid.1', delivered: true },
      { providerMessageId: 'wamid.2', delivered: true },
      { providerMessageId: 'wamid.3', delivered: false, error: 'Re-engagement message (131047)' },
      { providerMessageId: 'wamid.4', delivered: false, error: 'failed' },
      { providerMessageId: 'wamid.5', delivered: false, error: 'failed' },
    ]);
  });

  it.each([[null], [[]], [{ object: 'page', entry: [] }], [{ object: 'whatsapp_business_account' }], [{ object: 'whatsapp_business_account', entry: {} }]])('refuses %p as the body (481)', (payload) => {
    expect(() => receiptsOf(payload)).toThrow(AppError);
    expect(() => receiptsOf(payload)).toThrow(/^Invalid parameter body: must be a WhatsApp Business Account webhook/);
  });
});
