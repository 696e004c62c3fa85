import { Logger } from '@nestjs/common';
import { MessageProvider, OutboundMessage, SendResult } from './message-provider';

/**
 * Development only: prints the message, code included, to the log instead of sending it.
 * ChannelsModule warns about it at start-up.
 */
export class ConsoleProvider extends MessageProvider {
  readonly name = 'console';
  private readonly logger = new Logger('ConsoleProvider');

  send(message: OutboundMessage): Promise<SendResult> {
    const extra = message.channel === 'email' ? ` subject=${JSON.stringify(message.subject)}` : message.channel === 'call' ? ` voice=${message.voice} language=${message.language} repeat=${message.repeat}` : message.channel === 'whatsapp' ? ` language=${message.language}` : '';
    this.logger.log(`[dev console ${message.channel}] ${message.requestId} from=${message.from} to=${message.to}${extra} text=${JSON.stringify(message.text)}`);
    return Promise.resolve({ providerMessageId: `console-${message.requestId}` });
  }
}
