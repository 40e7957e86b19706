import { z } from 'zod';

/** Who caused an event. Every admin action and every poll result is attributed. */
export const ActorSchema = z.object({
  kind: z.enum(['admin', 'api', 'poller', 'importer', 'system']),
  name: z.string().min(1).max(200),
});
export type Actor = z.infer<typeof ActorSchema>;

export const EnvelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  at: z.iso.datetime({ offset: true }),
  actor: ActorSchema,
  correlationId: z.string().max(200).optional(),
  data: z.unknown(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

export const systemActor: Actor = { kind: 'system', name: 'scalelite' };
