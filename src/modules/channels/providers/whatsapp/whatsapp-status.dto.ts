import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

/** The query of Meta's verification handshake: `hub.mode`, `hub.verify_token`, `hub.challenge`. */
export class WhatsappHandshakeQuery {
  @ApiProperty({ name: 'hub.mode', enum: ['subscribe'], description: 'Always `subscribe`.' })
  @IsNotEmpty()
  @IsString()
  @IsIn(['subscribe'])
  'hub.mode': string;

  @ApiProperty({ name: 'hub.verify_token', maxLength: 512, description: 'The Verify token entered in the app dashboard: must equal WHATSAPP_VERIFY_TOKEN.' })
  @IsNotEmpty()
  @IsString()
  @MaxLength(512)
  'hub.verify_token': string;

  @ApiProperty({ name: 'hub.challenge', maxLength: 256, example: '1158201444', description: 'Echoed as the answer once the token matches.' })
  @IsNotEmpty()
  @IsString()
  @MaxLength(256)
  @Matches(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII without spaces' })
  'hub.challenge': string;
}

class WhatsappStatusErrorDto {
  @ApiProperty({ example: 131026 }) code: number;
  @ApiProperty({ example: 'Message undeliverable' }) title: string;
}

class WhatsappStatusDto {
  @ApiProperty({ example: 'wamid.HBgLMTIwNTU1NTAxMDAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA', description: 'The `providerMessageId` of the OTP.' }) id: string;
  @ApiProperty({ enum: ['sent', 'delivered', 'read', 'failed'], description: '`delivered` and `read` make the delivery `delivered`, `failed` `undelivered`; `sent` changes nothing.' }) status: string;
  @ApiPropertyOptional({ example: '12055550100' }) recipient_id?: string;
  @ApiPropertyOptional({ example: '1767225600', description: 'Unix seconds.' }) timestamp?: string;
  @ApiPropertyOptional({ type: [WhatsappStatusErrorDto], description: 'With `failed`: the first one becomes `deliveryError` (`Message undeliverable (131026)`).' }) errors?: WhatsappStatusErrorDto[];
}

class WhatsappChangeValueDto {
  @ApiPropertyOptional({ example: 'whatsapp' }) messaging_product?: string;
  @ApiPropertyOptional({ type: [WhatsappStatusDto] }) statuses?: WhatsappStatusDto[];
}

class WhatsappChangeDto {
  @ApiProperty({ example: 'messages', description: 'Only `messages` changes carry statuses; others are ignored.' }) field: string;
  @ApiProperty({ type: WhatsappChangeValueDto }) value: WhatsappChangeValueDto;
}

class WhatsappEntryDto {
  @ApiPropertyOptional({ example: '102290129340398', description: 'The WhatsApp Business Account id.' }) id?: string;
  @ApiProperty({ type: [WhatsappChangeDto] }) changes: WhatsappChangeDto[];
}

/** For the documentation only: the route reads the payload itself, tolerating what Meta adds. */
@ApiSchema({ description: "Meta's webhook payload for a WhatsApp Business Account (its `messages` field); what carries no status is ignored." })
export class WhatsappWebhookDto {
  @ApiProperty({ enum: ['whatsapp_business_account'] }) object: string;
  @ApiProperty({ type: [WhatsappEntryDto] }) entry: WhatsappEntryDto[];
}
