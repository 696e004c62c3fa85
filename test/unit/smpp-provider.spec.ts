import { Logger } from '@nestjs/common';
import { DeliveryReceipt, OutboundMessage } from '../../src/modules/channels/providers/message-provider';
import { SmppProviderOptions, SmppSmsProvider } from '../../src/modules/channels/providers/sms/smpp.provider';
import { TestSmsc } from '../support/smsc';

/** Against a real SMPP peer on 127.0.0.1: what the SMSC receives and what `send` reports. */
describe('SmppSmsProvider', () => {
  let smsc: TestSmsc;
  let receipts: DeliveryReceipt[];
  const providers: SmppSmsProvider[] = [];

  const provider = (url = smsc.url, options?: SmppProviderOptions) => {
    const created = new SmppSmsProvider(url, (receipt) => receipts.push(receipt), options);
    providers.push(created);
    return created;
  };
  const sms = (text: string, from = 'OTPGate', to = '15551234567'): OutboundMessage => ({ requestId: 'req-1', channel: 'sms', from, to, code: '123456', text });
  const until = async (condition: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  // Binds and drops are logged at LOG/WARN; keep the test output to what matters.
  beforeAll(() => Logger.overrideLogger(['error']));

  beforeEach(async () => {
    smsc = await TestSmsc.start();
    receipts = [];
  });

  afterEach(async () => {
    await Promise.all(providers.splice(0).map((one) => one.onModuleDestroy()));
    await smsc.close();
  });

  it('submits the text over one transceiver session, alphanumeric sender as TON 5 / NPI 0', async () => {
    const smpp = provider();
    const first = await smpp.send(sms('Your code is 123456', 'OTPGate'));
    await smpp.send(sms('Your code is 654321', 'OTPGate', '4915112345678'));

    expect(smsc.bindCount).toBe(1);
    expect(smsc.submits).toHaveLength(2);
    expect(smsc.submits[0]).toMatchObject({
      source: 'OTPGate',
      sourceTon: 5,
      sourceNpi: 0,
      destination: '15551234567',
      destinationTon: 1,
      destinationNpi: 1,
      dataCoding: 0,
      registeredDelivery: 1,
      esmClass: 0,
      text: 'Your code is 123456',
    });
    expect(smsc.submits[0].part).toBeUndefined();
    expect(first.providerMessageId).toBe(smsc.submits[0].messageId);
    expect(smsc.submits[1]).toMatchObject({ destination: '4915112345678', text: 'Your code is 654321' });
  });

  it('sends a numeric sender as TON 1 / NPI 1 without its +', async () => {
    await provider().send(sms('code 1234', '+15550001111'));
    expect(smsc.submits[0]).toMatchObject({ source: '15550001111', sourceTon: 1, sourceNpi: 1, text: 'code 1234' });
  });

  it('keeps GSM text with extension characters in the default alphabet', async () => {
    const text = 'Ihr Code {1234} für 5€ [ok] ~ ^ | \\ Ñ è @ _ £';
    await provider().send(sms(text));
    expect(smsc.submits[0]).toMatchObject({ dataCoding: 0, text });
  });

  it('sends text outside the GSM alphabet as UCS-2', async () => {
    const text = 'あなたの認証コードは 123456 です';
    await provider().send(sms(text));
    expect(smsc.submits[0]).toMatchObject({ dataCoding: 8, text });
  });

  it('shares one bind between sends that start together', async () => {
    const smpp = provider();
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => smpp.send(sms(`code ${n}`))));
    expect(smsc.bindCount).toBe(1);
    expect(results.map((result) => result.providerMessageId).sort()).toEqual(smsc.submits.map((submit) => submit.messageId).sort());
  });

  it('sends 160 GSM characters as one part and 161 as two', async () => {
    const smpp = provider();
    await smpp.send(sms('a'.repeat(160)));
    await smpp.send(sms('b'.repeat(161)));
    expect(smsc.submits.map((submit) => submit.text.length)).toEqual([160, 153, 8]);
  });

  it('splits a long GSM text into concatenated parts with a UDH that reassemble to the original', async () => {
    const text = Array.from({ length: 400 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const result = await provider().send(sms(text));

    expect(smsc.submits).toHaveLength(3);
    const reference = smsc.submits[0].part?.reference;
    smsc.submits.forEach((submit, i) => {
      expect(submit.esmClass & 0x40).toBe(0x40);
      expect(submit.dataCoding).toBe(0);
      expect(submit.text.length).toBeLessThanOrEqual(153);
      expect(submit.part).toEqual({ reference, total: 3, index: i + 1 });
    });
    expect(smsc.messages()).toEqual([{ source: 'OTPGate', destination: '15551234567', text, messageIds: smsc.submits.map((submit) => submit.messageId) }]);
    // The last part's id is the one reported.
    expect(result.providerMessageId).toBe(smsc.submits[2].messageId);
  });

  it('never cuts a GSM escape sequence or a UTF-16 surrogate pair between parts', async () => {
    const smpp = provider();
    const gsm = `${'a'.repeat(152)}€${'b'.repeat(20)}`;
    const ucs2 = `${'あ'.repeat(66)}😀${'い'.repeat(10)}`;
    await smpp.send(sms(gsm));
    await smpp.send(sms(ucs2));

    expect(smsc.messages().map((message) => message.text)).toEqual([gsm, ucs2]);
    const parts = smsc.submits.map((submit) => ({ dataCoding: submit.dataCoding, text: submit.text }));
    expect(parts).toEqual([
      { dataCoding: 0, text: 'a'.repeat(152) },
      { dataCoding: 0, text: `€${'b'.repeat(20)}` },
      { dataCoding: 8, text: 'あ'.repeat(66) },
      { dataCoding: 8, text: `😀${'い'.repeat(10)}` },
    ]);
    expect(smsc.submits[0].part?.reference).not.toBe(smsc.submits[2].part?.reference);
  });

  it('reports delivery receipts by the SMSC message id', async () => {
    const smpp = provider();
    const delivered = await smpp.send(sms('code 111111'));
    const failed = await smpp.send(sms('code 222222', 'OTPGate', '15557654321'));
    const expired = await smpp.send(sms('code 333333'));

    await smsc.sendReceipt(delivered.providerMessageId!, 'DELIVRD');
    await smsc.sendReceipt(failed.providerMessageId!, 'UNDELIV');
    await smsc.sendReceipt(expired.providerMessageId!, 'EXPIRED');

    expect(receipts).toEqual([
      { providerMessageId: delivered.providerMessageId, delivered: true },
      { providerMessageId: failed.providerMessageId, delivered: false, error: 'UNDELIV err:012' },
      { providerMessageId: expired.providerMessageId, delivered: false, error: 'EXPIRED err:012' },
    ]);
  });

  it('gets receipts sent right behind the submit_sm_resp', async () => {
    smsc.autoReceipt = 'DELIVRD';
    const result = await provider().send(sms('code 333333'));
    await until(() => receipts.length === 1, 'the receipt');
    expect(receipts).toEqual([{ providerMessageId: result.providerMessageId, delivered: true }]);
  });

  it('rejects while the SMSC throttles, naming the status, then goes through', async () => {
    const smpp = provider();
    smsc.throttleNext = 2;

    await expect(smpp.send(sms('code 1'))).rejects.toThrow('SMSC answered ESME_RTHROTTLED (0x58)');
    await expect(smpp.send(sms('code 2'))).rejects.toThrow('SMSC answered ESME_RTHROTTLED (0x58)');
    const result = await smpp.send(sms('code 3'));

    expect(smsc.throttled).toBe(2);
    expect(smsc.submits.map((submit) => submit.text)).toEqual(['code 3']);
    expect(result.providerMessageId).toBe(smsc.submits[0].messageId);
    expect(smsc.bindCount).toBe(1);
  });

  it('re-binds in the background after the SMSC drops the connection', async () => {
    const smpp = provider(smsc.url, { reconnectDelayMs: 20 });
    await smpp.send(sms('before'));
    await smsc.dropConnections();

    await until(() => smsc.bindCount === 2, 'a re-bind');
    const result = await smpp.send(sms('after'));

    expect(smsc.submits.map((submit) => submit.text)).toEqual(['before', 'after']);
    expect(result.providerMessageId).toBe(smsc.submits[1].messageId);
    expect(smsc.bindCount).toBe(2);
  });

  it('re-binds on the next send after a drop', async () => {
    const smpp = provider(smsc.url, { reconnectDelayMs: 60_000 });
    await smpp.send(sms('before'));
    await smsc.dropConnections();
    // Let the client read the FIN; the background re-bind is a minute away.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(smsc.bindCount).toBe(1);

    const result = await smpp.send(sms('after'));

    expect(smsc.bindCount).toBe(2);
    expect(result.providerMessageId).toBe(smsc.submits[1].messageId);
  });

  it('rejects on wrong credentials with the bind status, without hanging', async () => {
    const smpp = provider(smsc.url.replace(':pass@', ':wrong@'));
    await expect(smpp.send(sms('code 1'))).rejects.toThrow('SMSC refused bind_transceiver as user: ESME_RBINDFAIL (0x0D)');
    await expect(smpp.send(sms('code 2'))).rejects.toThrow('ESME_RBINDFAIL');
    expect(smsc.bindCount).toBe(0);
    expect(smsc.submits).toHaveLength(0);
  }, 15_000);

  it('rejects when nothing listens on the port', async () => {
    const url = smsc.url;
    await smsc.close();
    await expect(provider(url).send(sms('code 1'))).rejects.toThrow(/SMPP connection to 127\.0\.0\.1:\d+ failed/);
    smsc = await TestSmsc.start();
  }, 15_000);

  it('rejects when the SMSC does not answer a submit within the timeout', async () => {
    smsc.answerSubmits = false;
    await expect(provider(smsc.url, { submitTimeoutMs: 300 }).send(sms('code 1'))).rejects.toThrow('SMSC did not answer submit_sm within 300 ms');
    expect(smsc.submits).toHaveLength(1);
  }, 15_000);

  it('unbinds on shutdown and refuses to send afterwards', async () => {
    const smpp = provider();
    await smpp.send(sms('code 1'));
    await smpp.onModuleDestroy();
    await expect(smpp.send(sms('code 2'))).rejects.toThrow('shut down');
    expect(smsc.submits).toHaveLength(1);
  });
});
