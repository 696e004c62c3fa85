import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ok, Ok } from '../../common/envelope';
import { ApiDataResponse, ApiErrors, ApiJsonOrForm } from '../../common/swagger';
import { Account } from '../accounts/account.entity';
import { BasicAuth, Caller } from '../accounts/basic-auth.guard';
import { SettingsDto, SettingsQuery, UpdateSettingsDto } from './dto/settings.dto';
import { SettingsService } from './settings.service';

@ApiTags('Protection')
@BasicAuth()
@Controller('2fa/settings')
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  @ApiOperation({
    summary: 'Get protection settings',
    description: "An account's destination controls, fraud guard and test settings: its own, and beside them the effective ones after the restrictions of every account above it.",
  })
  @ApiDataResponse(SettingsDto)
  @ApiErrors('INVALID_PARAMETER', 'ACCOUNT_OUT_OF_SCOPE')
  async get(@Caller() caller: Account, @Query() query: SettingsQuery): Promise<Ok<SettingsDto>> {
    return ok(await this.settings.view(caller, query.accountSid));
  }

  @Put()
  @ApiOperation({
    summary: 'Change protection settings',
    description: 'Changes the fields given of the settings of the caller or of a sub-account (`accountSid`); the others are kept. A sub-account can narrow what its parents allow, never widen it.',
  })
  @ApiJsonOrForm()
  @ApiBody({
    type: UpdateSettingsDto,
    examples: {
      dryRun: { summary: 'Fraud guard in dry run: blocks are recorded, not enforced', value: { fraudGuard: { mode: 'dry-run' } } },
      geo: { summary: 'SMS only to the US, Canada and the UK', value: { geoPermissions: { sms: ['US', 'CA', 'GB'] } } },
      whatsappGeo: { summary: 'WhatsApp only to Brazil and India (SMS and calls keep their lists)', value: { geoPermissions: { whatsapp: ['BR', 'IN'] } } },
      testNumber: { summary: 'A fixed code for an app-store reviewer', value: { testNumbers: { '+12055550123': '123456' } } },
    },
  })
  @ApiDataResponse(SettingsDto)
  @ApiErrors({ body: true }, 'ACCOUNT_OUT_OF_SCOPE')
  async update(@Caller() caller: Account, @Body() body: UpdateSettingsDto): Promise<Ok<SettingsDto>> {
    return ok(await this.settings.update(caller, body));
  }
}
