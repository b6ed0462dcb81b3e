import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redact, redactor, scrubSecrets } from '../../src/core/redact.js';

/** Texts that mix outside text with the secrets themselves, as an error message quoting a request would. */
const withSecrets = (secrets: readonly string[]) =>
  fc
    .array(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...secrets)), { maxLength: 12 })
    .map((parts) => parts.join(''));

describe('redact', () => {
  it('PROPERTY: no known secret survives, whatever the text and the secrets', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 })
          .chain((secrets) => fc.tuple(fc.constant(secrets), withSecrets(secrets))),
        ([secrets, text]) => {
          const out = redact(text, secrets);
          for (const s of secrets) expect(out).not.toContain(s);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('PROPERTY: tokens found by shape never survive (Discord URL tokens, URL credentials, bearer tokens)', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_.-]{16,40}$/);
    const around = fc.string({ maxLength: 20 }).map((s) => s.replace(/[A-Za-z0-9_.-]/g, ' '));
    fc.assert(
      fc.property(
        token,
        fc.stringMatching(/^[a-z0-9]{1,12}$/),
        fc.constantFrom('interactions', 'webhooks'),
        around,
        around,
        (secret, user, kind, before, after) => {
          const texts = [
            `${before}POST https://discord.com/api/v10/${kind}/123456789012345678/${secret}/callback${after}`,
            `${before}postgres://${user}:${secret}@db.example.com:5432/x${after}`,
            `${before}Authorization: Bearer ${secret}${after}`,
          ];
          for (const t of texts) {
            expect(scrubSecrets(t)).not.toContain(secret);
            expect(redact(t)).not.toContain(secret);
          }
        },
      ),
    );
  });

  it('GIVEN secrets THEN each is replaced where it stands, the longest first, the rest of the text kept', () => {
    const url = 'postgres://u:pw123@h/db';
    expect(redact(`connect ${url} failed (pw123)`, ['pw123', url])).toBe(
      `connect ${REDACTED} failed (${REDACTED})`,
    );
    expect(redact('no secrets here', ['', 'absent'])).toBe('no secrets here');
    expect(redactor(['k3y'])('key k3y, again k3y')).toBe(`key ${REDACTED}, again ${REDACTED}`);
  });

  it('GIVEN the shapes THEN the parts that are not secret stay readable', () => {
    expect(scrubSecrets('at /interactions/123/aaaaaaaaaaaaaaaaaaaa/callback')).toBe(
      'at /interactions/123/[token]/callback',
    );
    expect(scrubSecrets('at /webhooks/9/short')).toBe('at /webhooks/9/short');
    expect(scrubSecrets('smtp://me:pw@mail.example.com:587')).toBe(`smtp://${REDACTED}@mail.example.com:587`);
    expect(scrubSecrets('header "Bearer sk-abc", next')).toBe(`header "Bearer ${REDACTED}", next`);
    expect(scrubSecrets('a bearer\tsk-abc;')).toBe(`a Bearer ${REDACTED};`);
    expect(scrubSecrets('Bearer  \n sk-abc')).toBe(`Bearer ${REDACTED}`);
  });

  it('GIVEN a secret that the replacement would spell out again THEN the whole text is withheld', () => {
    // `d]a` straddles the marker's end and the next character: `x[redacted]a`.
    expect(redact('xd]aa', ['d]a'])).toBe(REDACTED);
    // A secret inside the marker itself: nothing is left to show.
    expect(redact('the word redacted', ['redacted'])).toBe('');
  });
});
