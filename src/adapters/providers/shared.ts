import { performance } from 'node:perf_hooks';
import { oneLine } from '../../core/format.js';
import { type Amount, type Currency, implausibleReason, isImplausible } from '../../core/money.js';
import type { Redactor } from '../../core/redact.js';
import type { BalanceReading, CheckResult, ProviderId } from '../../core/types.js';

/** Longest piece of outside text (a server's message, an error) quoted in a reason. */
const MAX_TEXT = 200;
/** Longest failure reason. */
export const MAX_REASON = 400;

/** The code of a Node/undici/pg error (or SQLSTATE), looking inside AggregateError and `cause` too. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof record.code === 'string') return record.code;
  if (Array.isArray(record.errors)) {
    for (const inner of record.errors) {
      const code = errorCode(inner);
      if (code) return code;
    }
  }
  if (record.cause !== undefined && record.cause !== error) return errorCode(record.cause);
  return undefined;
}

/** Outside text for a reason: redacted first, so clipping can never leave a fragment of a secret behind. */
export function clip(text: string, redactor: Redactor): string {
  return oneLine(redactor(text), MAX_TEXT);
}

/** An error's message (or name), or the thrown value as text, {@link clip}ped. */
export function errorText(error: unknown, redactor: Redactor): string {
  return clip(error instanceof Error ? error.message || error.name : String(error), redactor);
}

/** A check that found nothing usable, and why (not yet redacted). */
export interface Failure {
  readonly ok: false;
  readonly reason: string;
}

/** The figures of a reading that come from the provider; the rest is filled in by {@link boundedCheck}. */
export type Figures = Pick<
  BalanceReading,
  | 'available'
  | 'voucher'
  | 'cash'
  | 'asOf'
  | 'warnings'
  | 'note'
  | 'details'
  | 'spendByDay'
  | 'budget'
  | 'estimate'
> & {
  /** The reading's currency when the reply decides it (DeepSeek's funded row); else the configured one. */
  readonly currency?: Currency;
};

/** One check's work, with its own state. */
export interface Attempt<Success extends { readonly ok: true }> {
  /** Does the work; a rejection becomes a failure via `fail`. */
  run(): Promise<Success | Failure>;
  /** The reason for a rejected `run`. */
  fail(error: unknown): string;
  /** Called once when the deadline passes before `run` settles: stops the work and says why. */
  timeout(): string;
}

/** The settings every provider's options carry. */
export interface CheckSettings {
  readonly currency: Currency;
  /** Hard upper bound for one check. */
  readonly timeoutMs: number;
  /** The clock that dates checks; the system clock when omitted. */
  readonly now?: () => Date;
  /** The account the results are for (`kimi:cn`); the provider's id (its default account) when omitted. */
  readonly accountId?: string;
}

/** What is particular to one provider's check. */
export interface CheckWork<Success extends { readonly ok: true }> {
  readonly isClosed: () => boolean;
  /** Applied to every reason before it leaves the provider. */
  readonly redactor: Redactor;
  /** Starts the work of one check. */
  readonly begin: () => Attempt<Success>;
  /** The reading's figures from a success; `checkedAt` is when the check started. */
  readonly figures: (success: Success, checkedAt: Date) => Figures;
}

/**
 * The `check()` every provider shares: dated by `now()` (the system clock if that throws), timed, raced
 * against a hard `timeoutMs` deadline, never throwing; a failure's reason is redacted and one line.
 */
export function boundedCheck<Success extends { readonly ok: true }>(
  moduleId: ProviderId,
  { currency, timeoutMs, now = () => new Date(), accountId }: CheckSettings,
  work: CheckWork<Success>,
): () => Promise<CheckResult> {
  // Results are keyed by the account; the provider's own id is its default account.
  const provider = accountId ?? moduleId;
  const { redactor } = work;
  return async () => {
    const started = performance.now();
    let checkedAt: Date;
    try {
      checkedAt = now();
    } catch {
      checkedAt = new Date();
    }
    const finish = (outcome: Success | Failure): CheckResult => {
      const latencyMs = Math.round(performance.now() - started);
      if (!outcome.ok) {
        const reason = oneLine(redactor(outcome.reason), MAX_REASON);
        return { ok: false, provider, currency, reason, checkedAt, latencyMs };
      }
      const figures = work.figures(outcome, checkedAt);
      // One rule for every provider: a figure no real balance reaches is a failed reading, never stored as ok.
      const amounts: Array<[string, Amount | undefined]> = [
        ['available', figures.available],
        ['voucher', figures.voucher],
        ['cash', figures.cash],
        ...Object.entries(figures.details ?? {}),
      ];
      for (const [field, amount] of amounts) {
        if (amount !== undefined && isImplausible(amount)) {
          return {
            ok: false,
            provider,
            currency,
            reason: implausibleReason(field, amount),
            checkedAt,
            latencyMs,
          };
        }
      }
      return { ok: true, provider, currency, ...figures, checkedAt, latencyMs };
    };
    if (work.isClosed()) return finish({ ok: false, reason: `${provider} provider is closed` });

    const attempt = work.begin();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Failure>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: attempt.timeout() }), timeoutMs);
    });
    try {
      const outcome = await Promise.race([
        attempt.run().catch((error: unknown): Failure => ({ ok: false, reason: attempt.fail(error) })),
        deadline,
      ]);
      return finish(outcome);
    } catch (error) {
      return finish({ ok: false, reason: `unexpected error: ${errorText(error, redactor)}` });
    } finally {
      clearTimeout(timer);
    }
  };
}
