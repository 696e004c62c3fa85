import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Clock } from '../../common/clock';
import { Deadline } from '../../common/deadline';
import { AppError } from '../../common/errors/app-error';
import { newSid } from '../../common/ids';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { Secrets } from '../../infra/secrets/secrets';
import { PhoneFacts, phoneFacts } from '../../common/phone-numbers';
import { withTimeout } from '../../common/timeout';
import { Account } from '../accounts/account.entity';
import { AccountsService } from '../accounts/accounts.service';
import { render } from '../channels/delivery.processor';
import { DeliveryQueue } from '../channels/queue/delivery-queue';
import { IdempotencyClaim, IdempotencyKeys } from '../idempotency/idempotency-keys';
import { LimitsService } from '../limits/limits.service';
import { FraudGuard } from '../protection/fraud/fraud-guard.service';
import { SettingsService } from '../protection/settings.service';
import { destinationRefusal, EffectiveSettings } from '../protection/settings-rules';
import { Channel } from '../channels/channel';
import { CancelOtpDto, SendOtpDto, VerifyOtpDto } from './dto/otp.dto';
import { MAX_VERIFY_ATTEMPTS, Otp, TEST_PROVIDER } from './otp.entity';
import { randomCode } from './otp-code';
import { verifyBlocker } from './otp-state';
import { OtpState, OtpStore } from './otp.store';
import { TestMessage } from './test-message.entity';

/** How many of the newest OTPs of a destination verify-by-number considers (guard times keep a few valid). */
const NEWEST = 10;

/** Past this, a send answers without waiting for the queue (the recovery sweep enqueues later). */
const ENQUEUE_TIMEOUT_MS = 2000;

/** A send's answer: its request id, and whether it is an Idempotency-Key's recorded answer. */
export interface SendOutcome {
  requestId: string;
  replayed: boolean;
}

@Injectable()
export class OtpService {
  private readonly logger = new Logger(OtpService.name);

  constructor(
    private readonly store: OtpStore,
    private readonly accounts: AccountsService,
    private readonly limits: LimitsService,
    private readonly settings: SettingsService,
    private readonly guard: FraudGuard,
    private readonly queue: DeliveryQueue,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly idempotency: IdempotencyKeys,
  ) {}

  /**
   * SPEC §4 send, with an optional Idempotency-Key (§10.1): authorised first (482 and the like
   * are not recorded), then the key is claimed for the account acted for, or answers for itself.
   * The destination controls, test settings and fraud guard of §10.4 and §10.5 come ahead of the
   * limits: a refused send stores, consumes and sends nothing. A `deadline` passed before the OTP
   * is stored (the request timed out, answered 503) rolls the send back: nothing is sent.
   */
  async send(caller: Account, input: SendOtpDto, idempotencyKey?: string, deadline?: Deadline): Promise<SendOutcome> {
    const account = await this.accounts.actingAccount(caller, input.accountSid);
    if (idempotencyKey === undefined) return { requestId: await this.sendFor(account, input, deadline), replayed: false };
    const claim = await this.idempotency.claim(account.sid, idempotencyKey, sendFingerprint(input));
    if ('replayed' in claim) return { requestId: (claim.body as { requestID: string }).requestID, replayed: true };
    try {
      return { requestId: await this.sendFor(account, input, deadline, claim), replayed: false };
    } catch (error) {
      await this.idempotency.settle(claim, error);
      throw error;
    }
  }

  /** Limits first, then store, replace earlier OTPs, and queue the delivery. */
  private async sendFor(account: Account, input: SendOtpDto, deadline?: Deadline, claim?: IdempotencyClaim): Promise<string> {
    const { to, from, limits } = input;
    const channel = input.channel ?? 'sms';

    // 1. Destination controls, before any limit is consumed (483), for every step's destination. Email is not subject to them.
    const settings = await this.settings.effective(account);
    const steps = input.fallback ?? [];
    const phone = this.permitted(settings, channel, to);
    for (const step of steps) this.permitted(settings, step.channel, step.to);

    // 2. A test number gets its fixed code and no message; test mode captures every message instead.
    const testNumber = settings.testNumbers.get(to);
    const test = testNumber !== undefined || settings.testMode;

    // 3. The fraud guard counts the send, or refuses it while its prefix is blocked (484); it ignores test numbers.
    const counted = phone && !testNumber ? await this.guard.admit(account, phone, settings.fraudGuard) : null;
    const uncount = () => this.guard.forget(counted);

    // 4. Limits: a blocked send stores and sends nothing, and the guard takes back its count.
    const requestId = newSid('OTP');
    const unlimit = await this.takingBackOnFailure([uncount], () => this.limits.enforce(account.sid, limits ?? undefined, to, requestId));

    // 5. The code, from a CSPRNG (a test number's is fixed); only its keyed hash is stored, and it travels sealed.
    const now = this.clock.now();
    const code = testNumber ? this.settings.testCode(to, testNumber) : randomCode(input.length ?? 6);
    const length = code.length;
    // A test send is never delivered: nothing to seal.
    const sealedCode = test ? null : this.secrets.seal(code, requestId);
    const timeout = input.timeout ?? 300;
    const otp: Otp = {
      requestId,
      accountSid: account.sid,
      service: input.service,
      channel,
      from,
      to,
      status: 'pending',
      deliveryStatus: test ? 'sent' : 'queued',
      attempts: 0,
      codeLength: length,
      codeHash: this.secrets.hashCode(requestId, code),
      sealedCode,
      timeout,
      guardTime: input.guardTime ?? null,
      // Its verify cancels the earlier OTPs a guard time keeps verifiable.
      guarded: Boolean(input.guardTime),
      limits: limits ? JSON.stringify(Object.fromEntries(limits)) : null,
      body: input.body,
      ...channelFields(input),
      dateCreated: now,
      dateUpdated: now,
      dateSent: test ? now : null,
      dateVerified: null,
      dateCanceled: null,
      deliveryError: null,
      provider: test ? TEST_PROVIDER : null,
      providerMessageId: null,
      dateExpires: now + timeout * 1000,
      country: phone?.country ?? null,
      numberType: phone?.numberType ?? null,
      fraudPrefix: counted?.key.prefix ?? null,
      fallbackSteps: steps.length,
      currentStep: 0,
    };
    const captured = settings.testMode ? this.captured(otp, code) : undefined;

    // 6. Store it, replacing earlier valid OTPs of (account, service, to): canceled at once, or kept for the guard time.
    const guardEnd = otp.guardTime ? now + otp.guardTime * 1000 : null;
    // With a key, its completion is part of the same transaction: one key never stores two OTPs.
    const completion = claim && this.idempotency.completion(claim, 200, { code: 200, message: 'OK', requestID: requestId });
    // The request's point of no return: a send the timeout has answered 503 rolls back instead.
    // A send that stores nothing is taken back out of the fraud guard and the limits.
    const beforeCommit = deadline && (() => deadline.commit());
    const replaced = await this.takingBackOnFailure([uncount, unlimit], async () => {
      const changed = await this.store.insertReplacing(otp, now, guardEnd, { guard: completion, captured, steps, beforeCommit });
      if (changed === null) throw new AppError('IDEMPOTENCY_IN_PROGRESS');
      return changed;
    });
    if (replaced && guardEnd === null) this.metrics.otps.inc({ event: 'canceled', channel }, replaced);
    this.metrics.otps.inc({ event: 'sent', channel });
    // A test send ends here: it has nothing to deliver.
    if (sealedCode === null) return requestId;

    // 7. Queue the delivery; the answer does not wait for it. Should the queue be unreachable, the
    //    stored request stays `queued` and the recovery sweep enqueues it once the queue is back.
    await withTimeout(this.queue.enqueue({ requestId, channel, sealedCode }), ENQUEUE_TIMEOUT_MS).catch((error: unknown) =>
      this.logger.warn({ err: error, requestId }, 'delivery not queued yet; the recovery sweep will queue it'),
    );
    return requestId;
  }

  /** Runs a step of a send; should it fail, the send stores nothing, and what it has counted so far is taken back. */
  private async takingBackOnFailure<T>(takeBacks: (() => Promise<void>)[], step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      await Promise.all(
        takeBacks.map((takeBack) => takeBack().catch((takeBackError: unknown) => this.logger.warn({ err: takeBackError }, 'could not take back what a failed send counted'))),
      );
      throw error;
    }
  }

  /** Refuses (483) a phone destination the account's controls do not permit on `channel`; returns its facts (null for email). */
  private permitted(settings: EffectiveSettings, channel: Channel, to: string): PhoneFacts | null {
    if (channel === 'email') return null;
    const phone = phoneFacts(to);
    const refusal = destinationRefusal(settings, channel, to, phone);
    if (refusal) {
      this.metrics.sendRefusals.inc({ reason: refusal.reason, country: phone.country ?? 'unknown', dry_run: 'false' });
      throw new AppError('DESTINATION_NOT_PERMITTED', { why: refusal.why });
    }
    return phone;
  }

  /** The message as a provider would have received it, sealed: only GET /2fa/test/messages opens it. */
  private captured(otp: Otp, code: string): TestMessage {
    const { text } = render(otp, code);
    return {
      requestId: otp.requestId,
      accountSid: otp.accountSid,
      channel: otp.channel,
      from: otp.from,
      to: otp.to,
      subject: otp.subject,
      sealedText: this.secrets.seal(text, otp.requestId),
      dateCreated: otp.dateCreated,
    };
  }

  /**
   * SPEC §4 verify, by request id or by the newest OTPs of a destination. Past its `deadline` (a
   * 503 answered) it changes nothing: no OTP verified, no attempt counted.
   */
  async verify(caller: Account, input: VerifyOtpDto, deadline?: Deadline): Promise<string> {
    const account = await this.accounts.actingAccount(caller, input.accountSid);
    const now = this.clock.now();
    if (input.number) return this.verifyByNumber(account, input.service!, input.number, input.code, now, deadline);
    // The right code in one round trip; any other outcome is decided from the state it read back.
    const requestId = input.requestId!;
    const hashes = this.secrets.codeHashes(requestId, input.code);
    const attempt = await this.store.verifyMatching(requestId, account.sid, hashes, now, () => deadline?.commit());
    if (attempt?.verified) return this.verified(attempt.otp!, now);
    const otp = attempt ? attempt.otp : await this.store.findState(requestId, account.sid);
    if (!otp) throw new AppError('OTP_NOT_FOUND');
    const blocker = verifyBlocker(otp, now);
    if (blocker) throw new AppError(blocker, {}, { requestId: otp.requestId });
    const matches = hashes.some((hash) => Secrets.sameHash(hash, otp.codeHash));
    return matches ? this.markVerified(otp, now, deadline) : this.countWrongCode(otp, now, deadline);
  }

  /**
   * By number: the newest verifiable OTPs of (account, service, number). During a guard time the
   * old and the new code both pass; a wrong code counts against the newest.
   */
  private async verifyByNumber(account: Account, service: string, to: string, code: string, now: number, deadline?: Deadline): Promise<string> {
    const newest = await this.store.newest(account.sid, service, to, NEWEST);
    if (!newest.length) throw new AppError('OTP_NOT_FOUND');
    const verifiable = newest.filter((otp) => !verifyBlocker(otp, now));
    if (!verifiable.length) throw new AppError(verifyBlocker(newest[0], now)!, {}, { requestId: newest[0].requestId });
    const match = verifiable.find((otp) => this.matches(otp, code));
    return match ? this.markVerified(match, now, deadline) : this.countWrongCode(verifiable[0], now, deadline);
  }

  private async markVerified(otp: OtpState, now: number, deadline?: Deadline): Promise<string> {
    deadline?.commit();
    if (!(await this.store.markVerified(otp, now))) return this.failWithCurrentState(otp.requestId, now);
    return this.verified(otp, now);
  }

  /** What follows a verify that succeeded. */
  private async verified(otp: OtpState, now: number): Promise<string> {
    this.metrics.otps.inc({ event: 'verified', channel: otp.channel });
    await this.guard.verified(otp.accountSid, otp.fraudPrefix);
    // Another OTP of the destination can be valid only through a guard time; cancel it.
    if (otp.guarded || otp.dateCanceled !== null) await this.store.cancelOthers(otp, now);
    return otp.requestId;
  }

  private async countWrongCode(otp: OtpState, now: number, deadline?: Deadline): Promise<never> {
    deadline?.commit();
    if (!(await this.store.countWrongCode(otp, now))) return this.failWithCurrentState(otp.requestId, now);
    if (otp.attempts + 1 >= MAX_VERIFY_ATTEMPTS) this.metrics.otps.inc({ event: 'failed', channel: otp.channel });
    throw new AppError('OTP_INVALID_CODE', {}, { requestId: otp.requestId });
  }

  /** A conditional update lost a race: answer with what the OTP has become. */
  private async failWithCurrentState(requestId: string, now: number): Promise<never> {
    const current = await this.store.findState(requestId);
    throw new AppError((current && verifyBlocker(current, now)) ?? 'OTP_INVALID_CODE', {}, { requestId });
  }

  private matches(otp: OtpState, code: string): boolean {
    return this.secrets.codeMatches(otp.requestId, code, otp.codeHash);
  }

  /** SPEC §4 cancel: idempotent; a delivery not yet handed to a provider is dropped. Past its `deadline` it changes nothing. */
  async cancel(caller: Account, input: CancelOtpDto, deadline?: Deadline): Promise<string> {
    const account = await this.accounts.actingAccount(caller, input.accountSid);
    const otp = await this.store.findState(input.requestId, account.sid);
    if (!otp) throw new AppError('CANCEL_NOT_FOUND');
    const now = this.clock.now();
    // Verify's answer, read for cancel: verified (471) and expired (472, a locked or undelivered
    // OTP past its expiry too) refuse it; one already canceled, locked or undelivered is as good as canceled.
    const blocker = verifyBlocker(otp, now);
    if (blocker === 'OTP_ALREADY_VERIFIED' || blocker === 'OTP_EXPIRED') throw new AppError(blocker, {}, { requestId: otp.requestId });
    if (blocker === null) {
      deadline?.commit();
      if (!(await this.store.cancel(otp, now))) return this.cancel(caller, input, deadline);
      this.metrics.otps.inc({ event: 'canceled', channel: otp.channel });
      await this.queue.remove(otp.channel, otp.requestId);
    }
    return otp.requestId;
  }
}

/**
 * The normalised parameters of a send, as an Idempotency-Key compares them: the fields in their
 * working form (destination normalised, defaults filled in, `limits` in the order written).
 */
export function sendFingerprint(input: SendOtpDto): string {
  const channel = input.channel ?? 'sms';
  const fields = {
    route: 'POST /2fa/send',
    service: input.service,
    channel,
    from: input.from,
    to: input.to,
    body: input.body,
    ...channelFields(input),
    length: input.length ?? 6,
    timeout: input.timeout ?? 300,
    guardTime: input.guardTime ?? null,
    limits: input.limits ?? null,
    fallback: input.fallback ?? null,
  };
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

/** The fields of the channels a send's workflow uses (its own and its fallback steps'), defaults filled in; null for the others. */
function channelFields(input: SendOtpDto): Pick<Otp, 'subject' | 'voice' | 'language' | 'repeat'> {
  const channels = new Set([input.channel ?? 'sms', ...(input.fallback ?? []).map((step) => step.channel)]);
  const call = channels.has('call');
  return {
    subject: channels.has('email') ? (input.subject ?? null) : null,
    voice: call ? (input.voice ?? 'man') : null,
    // The language of a call's speech and of a WhatsApp template.
    language: call || channels.has('whatsapp') ? (input.language ?? 'en') : null,
    repeat: call ? (input.repeat ?? 1) : null,
  };
}
