import { z } from 'zod';
import { int, text } from './fields.js';

export const NOTIFY_EVENTS = ['started', 'succeeded', 'failed', 'rolled_back'] as const;

export const notificationsSchema = z
  .strictObject({
    slack: z
      .strictObject({
        webhook: text('Slack incoming-webhook URL (a secret: never logged).', 2048),
        channel: text('Channel.', 256).optional(),
        username: text('Name shown as the sender.', 256).optional(),
      })
      .optional(),
    webhook: z
      .strictObject({
        url: text('URL that receives a JSON POST per event (a secret: never logged).', 2048),
        headers: z.record(z.string().min(1).max(256), z.string().max(8192)).default({}).describe('Extra request headers (secrets: never logged).'),
      })
      .optional(),
    email: z
      .strictObject({
        smtp: z
          .strictObject({
            host: text('SMTP server.', 255),
            port: int('SMTP port.', 1, 65535).default(587),
            secure: z.boolean().default(false).describe('TLS from the start (port 465) instead of STARTTLS.'),
            user: text('SMTP user.', 256).optional(),
            pass: text('SMTP password (a secret: never logged).', 1024).optional(),
          })
          .optional(),
        from: text('Sender address.', 320).optional(),
        recipients: z.array(text('address', 320)).min(1).max(100),
      })
      .optional(),
    on: z.array(z.enum(NOTIFY_EVENTS)).default([...NOTIFY_EVENTS]).describe('Events that are announced.'),
  })
  .describe('Where deploy events are announced.');

export type NotificationsConfig = z.output<typeof notificationsSchema>;
