/**
 * An expected failure whose message is safe and useful to show the user as it is (a bad option,
 * no history yet, a missing permission). Anything else is an unexpected error: logged in full
 * and answered with a generic message carrying the interaction id.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Discord API error codes that mean "this interaction is gone"; nothing to do but log and move on. */
export const BENIGN_DISCORD_CODES = new Set([
  10062, // Unknown interaction (token expired, or answered elsewhere)
  40060, // Interaction has already been acknowledged
]);

export function discordErrorCode(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}
