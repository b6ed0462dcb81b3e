import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../src/core/redact.js';
import { captureLogs } from '../support/log-capture.js';

const INTERACTION_TOKEN = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OmFiY2RlZmdoaWprbG1ub3A';

describe('logging never carries secrets', () => {
  it('GIVEN an error whose URL holds an interaction token THEN the logged error has the token removed', () => {
    const { logger, text } = captureLogs();
    const err = Object.assign(
      new Error(`Unknown interaction at /interactions/123456789012345678/${INTERACTION_TOKEN}/callback`),
      {
        url: `https://discord.com/api/v10/webhooks/1415738925486018650/${INTERACTION_TOKEN}/messages/@original`,
        status: 404,
      },
    );
    logger.error({ err }, 'interaction failed');
    const out = text();
    expect(out).not.toContain(INTERACTION_TOKEN);
    expect(out).toContain('/webhooks/1415738925486018650/[token]/messages/@original');
    expect(out).toContain('"status":404');
  });

  it('GIVEN secret-bearing fields THEN they are redacted by name', () => {
    const { logger, text } = captureLogs();
    logger.info(
      {
        apiKey: 'sk-moonshot-SECRET',
        headers: { authorization: 'Bearer sk-SECRET2' },
        config: { discord: { token: 'MTQ.SECRET3' } },
      },
      'x',
    );
    expect(text()).not.toMatch(/SECRET/);
    expect(text()).toContain('[redacted]');
  });

  it('GIVEN a URL with credentials THEN the user-info part is removed', () => {
    expect(scrubSecrets('connect postgres://postgres:hunter2@db.example.com:5432/postgres failed')).toBe(
      'connect postgres://[redacted]@db.example.com:5432/postgres failed',
    );
  });
});
