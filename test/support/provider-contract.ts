import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { formatSummary } from '../../src/core/format.js';
import type { BalanceProvider, BalanceReading, CheckResult, ProviderId } from '../../src/core/types.js';
import { createCore } from '../../src/entry/app.js';
import { captureLogs } from './log-capture.js';

/**
 * The one contract every provider passes (issue 12), written once and instantiated per provider, as keyv's
 * adapters share one suite. A subject arranges each situation against its real transport (a local HTTP
 * server on port 0, a real or fake Postgres); a situation that cannot happen to a provider is left out
 * of its subject, and the suite says which ones it ran.
 */
export type Situation =
  /** The provider's reply for an unknown or wrong key, with its own error body. */
  | 'unauthorized'
  /** The provider's reply for a key it refuses (403), with its own error body. */
  | 'forbidden'
  /** A server error with an HTML body. */
  | 'server-error-html'
  | 'malformed-json'
  | 'empty-body'
  /** The source answers, never finishes. */
  | 'hang'
  | 'refused'
  /** A body over 1 MiB, declared in content-length. */
  | 'oversized'
  /** A body that never ends (no content-length): refused at 1 MiB, not read to the end. */
  | 'endless'
  /** A redirect to another host. */
  | 'redirect';

/** What one arranged situation gives the suite. */
export interface Arranged {
  readonly provider: BalanceProvider;
  /** Extra checks after the failure (the redirect target saw nothing, the endless body was not read). */
  readonly verify?: () => void;
}

/** One provider under the contract. */
export interface ContractSubject {
  readonly id: ProviderId;
  /** The secret the provider holds (API key, database password): never in a reason, log, history or post. */
  readonly secret: string;
  /** The timeout the subject's providers are built with (the hang must end within it, plus slack). */
  readonly timeoutMs: number;
  /** The documented reply; `expect` checks the reading against the documented figures. */
  readonly documented: () => Promise<Arranged & { readonly expect: (reading: BalanceReading) => void }>;
  /** Reason patterns per situation the subject can arrange. */
  readonly situations: Partial<Record<Situation, { arrange: () => Promise<Arranged>; reason: RegExp }>>;
  /** Replies of the wrong types (null, strings for numbers, absent fields), each a failure naming the field. */
  readonly wrongTypes: ReadonlyArray<{ name: string; arrange: () => Promise<Arranged>; reason: RegExp }>;
  /** A source that puts the secret into its error (an echoed key, a server message quoting it). */
  readonly echoesSecret: () => Promise<Arranged>;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

function expectFailure(subject: ContractSubject, result: CheckResult, reason: RegExp): string {
  if (result.ok) throw new Error(`expected a failure, got a reading of ${result.available.toString()}`);
  expect(result.reason).toMatch(reason);
  expect(result.reason).not.toContain(subject.secret);
  expect(result.reason).not.toMatch(/[\r\n]/);
  expect(result.reason.length).toBeLessThanOrEqual(400);
  expect(result.provider).toBe(subject.id);
  return result.reason;
}

/** Runs the contract against `subject`. */
export function providerContract(subject: ContractSubject): void {
  describe(`${subject.id} provider: the contract every provider passes`, () => {
    const open: BalanceProvider[] = [];
    const use = async <A extends Arranged>(arranging: Promise<A>): Promise<A> => {
      const arranged = await arranging;
      open.push(arranged.provider);
      return arranged;
    };

    beforeAll(async () => {
      await subject.setup?.();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((p) => p.close()));
    });
    afterAll(async () => {
      await subject.teardown?.();
    });

    it('GIVEN the documented reply THEN it is read exactly, as a reading dated by the check', async () => {
      const arranged = await use(subject.documented());
      const result = await arranged.provider.check();
      if (!result.ok) throw new Error(`expected a reading, got: ${result.reason}`);
      expect(result.provider).toBe(subject.id);
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
      arranged.expect(result);
      arranged.verify?.();
    });

    for (const [situation, { arrange, reason }] of Object.entries(subject.situations)) {
      it(`GIVEN ${situation} THEN the check fails saying so, within the timeout, without the secret`, async () => {
        const arranged = await use(arrange());
        const result = await arranged.provider.check();
        expectFailure(subject, result, reason);
        // Every situation ends within the check's bound (the hang exactly at it).
        expect(result.latencyMs).toBeLessThan(subject.timeoutMs + 1_000);
        arranged.verify?.();
      });
    }

    for (const { name, arrange, reason } of subject.wrongTypes) {
      it(`GIVEN a reply with ${name} THEN the check fails naming it, never reading 0`, async () => {
        const arranged = await use(arrange());
        expectFailure(subject, await arranged.provider.check(), reason);
      });
    }

    it('GIVEN a source that echoes the secret THEN it is in no reason, log line, history row or post', async () => {
      const arranged = await use(subject.echoesSecret());
      const dir = mkdtempSync(join(tmpdir(), `cw-contract-${subject.id}-`));
      const { logger, text } = captureLogs('trace');
      const config = loadConfig(
        { HOME: dir, DATA_DIR: join(dir, 'data'), BALANCE_LOG_DIR: join(dir, 'logs'), PROVIDERS: 'kimi' },
        { providerSettings: 'optional' },
      );
      const core = await createCore(config, logger, { providers: [arranged.provider], sqliteMode: 'inline' });
      try {
        const summary = await core.service.checkAll();
        const status = summary.statuses[0];
        expect(status?.result.ok).toBe(false);
        const post = formatSummary(summary, null);
        const rows = await sql<{ error: string | null }>`select error from readings`.execute(core.db.kysely);
        const stored = JSON.stringify(rows.rows);
        expect(rows.rows.length).toBe(1);
        for (const place of [post, stored, text(), status?.result.ok === false ? status.result.reason : '']) {
          expect(place).not.toContain(subject.secret);
        }
        // The failure is still told: the post names it.
        expect(post).toContain('unavailable');
      } finally {
        await core.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
