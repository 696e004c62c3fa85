import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Account } from './account.entity';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';
import { BasicStrategy } from './basic.strategy';

@Module({
  imports: [TypeOrmModule.forFeature([Account]), PassportModule],
  controllers: [AccountsController],
  providers: [AccountsService, BasicStrategy],
  exports: [AccountsService],
})
export class AccountsModule {}
