import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Account } from './account.entity';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';
import { BasicAuthenticator } from './basic-authenticator';
import { BasicAuthGuard } from './basic-auth.guard';
import { AuthGate } from './auth-gate';

@Module({
  imports: [TypeOrmModule.forFeature([Account])],
  controllers: [AccountsController],
  providers: [
    AccountsService,
    AuthGate,
    BasicAuthGuard,
    { provide: BasicAuthenticator, inject: [AccountsService], useFactory: (accounts: AccountsService) => new BasicAuthenticator((sid, token) => accounts.authenticate(sid, token)) },
  ],
  exports: [AccountsService, AuthGate, BasicAuthGuard],
})
export class AccountsModule {}
