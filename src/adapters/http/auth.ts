import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie the page sets after `?token=`: the token's digest, never the token itself. */
export const TOKEN_COOKIE = 'cw_dashboard';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * `DASHBOARD_TOKEN` checks. Both sides are hashed to 32 bytes first, so the comparison is constant-time
 * whatever the lengths (`timingSafeEqual` itself throws on a length mismatch, which would leak the length).
 */
export class TokenGate {
  private readonly expected: Buffer;
  /** The cookie's value: a digest of the token under a label, so the cookie is not the bearer token. */
  readonly cookieValue: string;

  constructor(token: string) {
    this.expected = digest(token);
    this.cookieValue = digest(`creditwatch-dashboard-cookie:${token}`).toString('base64url');
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.expected);
  }

  private cookieMatches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), digest(this.cookieValue));
  }

  /** True when the request carries the token as `Authorization: Bearer …` or the page's cookie. */
  allows(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    const bearer = auth === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    if (bearer?.[1] !== undefined && this.matches(bearer[1])) return true;
    const cookie = readCookie(req.headers.cookie, TOKEN_COOKIE);
    return cookie !== null && this.cookieMatches(cookie);
  }
}

/** The value of cookie `name` in a `Cookie` header, or `null`. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
