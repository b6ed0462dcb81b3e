/**
 * The one place secrets are taken out of text before it reaches a log, an error, a reason or a message:
 * the secrets a caller knows (an API key, a password, a webhook URL) and those found by their shape
 * (tokens in Discord URLs, credentials in a URL, bearer tokens).
 */

/** What a secret is replaced with. */
export const REDACTED = '[redacted]';

/** Removes secrets from a text. */
export type Redactor = (text: string) => string;

// Discord interaction and webhook URLs carry a token in their path (`/interactions/<id>/<token>/callback`),
// and discord.js puts the URL in its errors; credentials may also ride in a URL's user-info part, and a
// server may echo an `Authorization: Bearer …` header back.
const TOKEN_IN_PATH = /\/(interactions|webhooks)\/(\d+)\/[\w.-]{16,}/g;
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
const BEARER = /Bearer\s+[^\s"',;]+/gi;

/** Removes the secrets recognisable by their shape: Discord URL tokens, URL credentials, bearer tokens. */
export function scrubSecrets(text: string): string {
  return text
    .replace(TOKEN_IN_PATH, '/$1/$2/[token]')
    .replace(USERINFO, `$1${REDACTED}@`)
    .replace(BEARER, `Bearer ${REDACTED}`);
}

/**
 * `text` without any of `secrets` (longest first, so a connection string goes whole before its password
 * alone) and without the secrets {@link scrubSecrets} finds. No secret survives: should the replacing
 * itself spell one out again (a secret that straddles a marker, or is part of one), the whole text is
 * withheld.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  const known = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of known) out = out.split(secret).join(REDACTED);
  out = scrubSecrets(out);
  const leaks = (t: string) => known.some((s) => t.includes(s));
  if (!leaks(out)) return out;
  return leaks(REDACTED) ? '' : REDACTED;
}

/** A {@link Redactor} for a fixed list of secrets (empty ones are ignored). */
export function redactor(secrets: readonly string[]): Redactor {
  const list = [...secrets];
  return (text) => redact(text, list);
}
