import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { BasicStrategy as Strategy } from 'passport-http';
import { AppError } from '../../common/errors/app-error';
import { Account } from './account.entity';
import { AccountsService } from './accounts.service';

/** HTTP Basic `accountSid:authToken` (SPEC §1). Any failure is the same 401, whatever its reason. */
@Injectable()
export class BasicStrategy extends PassportStrategy(Strategy, 'basic') {
  constructor(private readonly accounts: AccountsService) {
    super({ realm: 'otpgate' });
  }

  async validate(sid: string, token: string): Promise<Account> {
    const account = await this.accounts.authenticate(sid, token);
    if (!account) throw new AppError('AUTH_FAILED');
    return account;
  }
}
