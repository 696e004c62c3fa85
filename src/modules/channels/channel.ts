/** The ways a code goes out; each has its own queue and provider. */
export type Channel = 'sms' | 'call' | 'email' | 'whatsapp';
export const CHANNELS: readonly Channel[] = ['sms', 'call', 'email', 'whatsapp'];
