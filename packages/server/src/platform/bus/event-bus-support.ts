// Helpers shared by the event bus adapters; not part of the port.

/** The default `onError`: a process warning naming the topic. */
export function warnEventBusError(err: unknown, topic: string): void {
  const message = err instanceof Error ? err.message : String(err);
  process.emitWarning(`Event bus error (${topic}): ${message}`);
}

/** JSON-encodes a payload, rejecting what cannot cross a process boundary intact. */
export function encodePayload(payload: unknown): string {
  const json = JSON.stringify(payload);
  if (json === undefined) throw new TypeError('Event payload must be JSON-serializable');
  return json;
}
