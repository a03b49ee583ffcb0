// Header names rlmesh sets on NATS messages (docs/conventions.md "Headers").
export const Header = {
  msgId: 'Nats-Msg-Id',
  type: 'Rlmesh-Type',
  deadReason: 'Rlmesh-Dead-Reason',
  deadStream: 'Rlmesh-Dead-Stream',
  deadConsumer: 'Rlmesh-Dead-Consumer',
  deadDeliveries: 'Rlmesh-Dead-Deliveries',
  deadSubject: 'Rlmesh-Dead-Subject',
} as const;

/** NATS header values are single-line; keep reasons readable and bounded. */
export function headerValue(text: string, max = 1024): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
