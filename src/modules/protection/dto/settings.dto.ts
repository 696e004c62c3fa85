import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { NUMBER_TYPES } from '../../../common/phone-numbers';
import { IsSid, ParsedWith, ToBoolean } from '../../../common/validation';
import { blockedNumberTypes, blockedPrefixes, fraudGuard, geoPermissions, testNumbers } from '../settings-input';
import { FraudGuardSettings, GUARD_MODES, GuardMode, PhoneChannel } from '../settings-rules';

export class SettingsQuery {
  @ApiPropertyOptional({ description: 'Settings of this account (the caller or one of its sub-accounts); default: the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;
}

const GEO_SCHEMA = {
  type: 'object',
  properties: { sms: { type: 'array', items: { type: 'string' } }, call: { type: 'array', items: { type: 'string' } }, whatsapp: { type: 'array', items: { type: 'string' } } },
} as const;

const GUARD_SCHEMA = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: [...GUARD_MODES] },
    window: { type: 'integer', minimum: 300, maximum: 604800, description: 'Seconds of history.' },
    minSends: { type: 'integer', minimum: 1, maximum: 1000000, description: 'Sends in the window before a prefix is judged.' },
    minConversion: { type: 'number', minimum: 0, maximum: 1, description: 'Share of those sends that must be verified.' },
    blockFor: { type: 'integer', minimum: 60, maximum: 2592000, description: 'Seconds a block lasts.' },
  },
} as const;

/**
 * PUT /2fa/settings: only the fields given change (null counts as not given, as on the other
 * PUT routes). Complex fields may come as JSON values or as strings holding JSON.
 */
export class UpdateSettingsDto {
  @ApiPropertyOptional({ description: 'Change the settings of this account (the caller or one of its sub-accounts); default: the caller.' })
  @IsOptional()
  @IsSid('AC')
  accountSid?: string;

  @ApiPropertyOptional({
    ...GEO_SCHEMA,
    example: { sms: ['US', 'CA', 'GB'], call: ['US'] },
    description:
      'Countries enabled per phone channel (sms, call, whatsapp; each its own list): ISO 3166 alpha-2 codes, or `["*"]` for all (the default). A channel not given keeps its list; `[]` disables the channel.',
  })
  @ParsedWith(geoPermissions)
  @IsOptional()
  geoPermissions?: Partial<Record<PhoneChannel, string[]>>;

  @ApiPropertyOptional({ type: [String], example: ['+88', '+4470'], description: 'E.164 prefixes refused on sms, call and whatsapp (default none); replaces the list.' })
  @ParsedWith(blockedPrefixes)
  @IsOptional()
  blockedPrefixes?: string[];

  @ApiPropertyOptional({
    type: [String],
    example: ['PREMIUM_RATE', 'SHARED_COST'],
    description: `libphonenumber number types refused (default PREMIUM_RATE, SHARED_COST); one of ${NUMBER_TYPES.join(', ')}. A number reported as FIXED_LINE_OR_MOBILE is refused only when that type is listed.`,
  })
  @ParsedWith(blockedNumberTypes)
  @IsOptional()
  blockedNumberTypes?: string[];

  @ApiPropertyOptional({ ...GUARD_SCHEMA, example: { mode: 'on' }, description: 'Fraud guard against SMS pumping; the fields given change, the others are kept.' })
  @ParsedWith(fraudGuard)
  @IsOptional()
  fraudGuard?: Partial<FraudGuardSettings>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { '+12055550123': '123456', 'reviewer@example.com': '2468' },
    description: 'Destinations (phone or email) that get a fixed code of 4–10 digits and no message; replaces the map (`{}` clears it). The codes are never shown again.',
  })
  @ParsedWith(testNumbers)
  @IsOptional()
  testNumbers?: Map<string, string>;

  @ApiPropertyOptional({ description: 'No send of the account (and its sub-accounts) reaches a provider; messages are captured for GET /2fa/test/messages.' })
  @ToBoolean()
  @IsOptional()
  @IsBoolean()
  testMode?: boolean;
}

export class FraudGuardDto implements FraudGuardSettings {
  @ApiProperty({ enum: GUARD_MODES, example: 'dry-run' }) mode: GuardMode;
  @ApiProperty({ example: 3600 }) window: number;
  @ApiProperty({ example: 30 }) minSends: number;
  @ApiProperty({ example: 0.2 }) minConversion: number;
  @ApiProperty({ example: 43200 }) blockFor: number;
}

export class GeoPermissionsDto {
  @ApiProperty({ type: [String], example: ['*'] }) sms: string[];
  @ApiProperty({ type: [String], example: ['*'] }) call: string[];
  @ApiProperty({ type: [String], example: ['*'] }) whatsapp: string[];
}

/** What applies to the account: its own settings narrowed by every account above it. */
export class EffectiveSettingsDto {
  @ApiProperty({ type: GeoPermissionsDto }) geoPermissions: GeoPermissionsDto;
  @ApiProperty({ type: [String], example: [] }) blockedPrefixes: string[];
  @ApiProperty({ type: [String], example: ['PREMIUM_RATE', 'SHARED_COST'] }) blockedNumberTypes: string[];
  @ApiProperty({ type: FraudGuardDto }) fraudGuard: FraudGuardDto;
  @ApiProperty({ type: [String], example: ['12055550123'], description: 'Test destinations, normalised; their codes are never shown.' }) testNumbers: string[];
  @ApiProperty({ example: false }) testMode: boolean;
}

export class SettingsDto {
  @ApiProperty({ example: 'AC0123456789abcdef0123456789abcdef' }) accountSid: string;
  @ApiProperty({ ...GEO_SCHEMA, nullable: true, example: { sms: ['US', 'CA'] }, description: "The account's own settings follow; null (or a channel left out): not set here, the parent's apply (the default at the root)." })
  geoPermissions: Partial<Record<PhoneChannel, string[]>> | null;
  @ApiProperty({ type: [String], nullable: true, example: null }) blockedPrefixes: string[] | null;
  @ApiProperty({ type: [String], nullable: true, example: null }) blockedNumberTypes: string[] | null;
  @ApiProperty({ ...GUARD_SCHEMA, nullable: true, example: { mode: 'on' }, description: 'The fields this account set.' }) fraudGuard: Partial<FraudGuardSettings> | null;
  @ApiProperty({ type: [String], nullable: true, example: null, description: 'Destinations only; codes are never shown.' }) testNumbers: string[] | null;
  @ApiProperty({ type: Boolean, nullable: true, example: null }) testMode: boolean | null;
  @ApiProperty({ type: EffectiveSettingsDto, description: 'The settings that apply to sends of this account, after the restrictions of every account above it.' })
  effective: EffectiveSettingsDto;
  @ApiProperty({ type: String, nullable: true, example: '2021-02-04T03:52:09.400+0000', description: 'When the account last changed its own settings.' }) dateUpdated: string | null;
  @ApiProperty({ example: '/2fa/settings?accountSid=AC0123456789abcdef0123456789abcdef' }) uri: string;
}
