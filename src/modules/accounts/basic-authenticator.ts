import type { IncomingMessage } from 'node:http';
import { BasicStrategy } from 'passport-http';
import { Account } from './account.entity';

/** What passport's middleware gives a strategy for one request; passport-http calls these. */
interface StrategyRun {
  success(user: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  error(error: unknown): void;
  pass(): void;
  redirect(url: string, status?: number): void;
}

export type BasicVerify = (sid: string, token: string) => Promise<Account | null>;

/** The account of the credentials, or null; `sid` is the user id they named, when they were well-formed. */
export interface BasicResult {
  account: Account | null;
  sid?: string;
}

/**
 * HTTP Basic `accountSid:authToken` (SPEC §1) through one passport-http BasicStrategy, created
 * once. Each request runs it as passport's own middleware does (a per-request `Object.create`
 * of the strategy with its callbacks), without building that middleware per request. Serves the
 * API's guard and the queue dashboard alike; every failure, whatever its reason, is null.
 */
export class BasicAuthenticator {
  private readonly strategy: BasicStrategy;
  private readonly sids = new WeakMap<object, string>();

  constructor(verify: BasicVerify) {
    this.strategy = new BasicStrategy({ realm: 'otpgate', passReqToCallback: true }, (req, sid, _password, done) => {
      this.sids.set(req, sid);
      // passport-http accepted the header with the same split; its scheme test is unanchored
      // (`/Basic/i`) and it cuts the password at a second `:`. RFC 7617: the scheme is `Basic`,
      // and the password is everything after the first `:`.
      const [scheme, credentials] = (req.headers.authorization ?? '').split(' ');
      if (scheme.toLowerCase() !== 'basic') return done(null, false);
      const token = Buffer.from(credentials, 'base64').toString().slice(sid.length + 1);
      verify(sid, token).then((account) => done(null, account ?? false), done);
    });
  }

  /** The account of the request's credentials, or null; rejects only when the lookup fails. */
  authenticate(req: IncomingMessage): Promise<BasicResult> {
    return new Promise((resolve, reject) => {
      const run = Object.create(this.strategy) as BasicStrategy & StrategyRun;
      const failed = (): void => resolve({ account: null, sid: this.sids.get(req) });
      run.success = (user) => resolve({ account: user as Account, sid: this.sids.get(req) });
      run.fail = failed;
      run.pass = failed;
      run.redirect = failed;
      run.error = (error) => reject(asError(error));
      try {
        run.authenticate(req as Parameters<BasicStrategy['authenticate']>[0]);
      } catch (error) {
        reject(asError(error));
      }
    });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
