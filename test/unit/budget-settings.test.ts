import { describe, expect, it } from 'vitest';
import type { BudgetAccountSettings } from '../../src/adapters/providers/budget.js';
import { readAccounts } from '../../src/core/accounts.js';

/**
 * The budget accounts' settings (issue 13): `P_ADMIN_KEY`, `P_MONTHLY_BUDGET`, `P_BASE_URL`, read through the
 * accounts reader the configuration uses, so each problem is the exact text a person sees.
 */
const BECAUSE = 'openai is in PROVIDERS';

function read(env: Record<string, string>, ids: readonly string[] = ['openai'], unrequired: string[] = []) {
  const problems: string[] = [];
  const accounts = readAccounts(env, ids, () => BECAUSE, problems, unrequired);
  const settings = accounts.map((a) => {
    const s = a.settings as BudgetAccountSettings;
    return [a.id, s.adminKey, s.budget.toString(), s.baseUrl];
  });
  return { problems, settings };
}

describe('budget accounts: settings', () => {
  it('GIVEN a key and a budget THEN the account reads the default base URL of its API, or the one set', () => {
    expect(
      read(
        {
          OPENAI_ADMIN_KEY: 'sk-admin-1',
          OPENAI_MONTHLY_BUDGET: '0.01',
          ANTHROPIC_ADMIN_KEY: 'sk-ant-admin01-x',
          ANTHROPIC_MONTHLY_BUDGET: '1000000000',
          ANTHROPIC_TEAM_ADMIN_KEY: 'sk-ant-admin01-t',
          ANTHROPIC_TEAM_MONTHLY_BUDGET: '150.50',
          ANTHROPIC_TEAM_BASE_URL: 'http://127.0.0.1:9/',
        },
        ['openai', 'anthropic', 'anthropic:team'],
      ),
    ).toEqual({
      problems: [],
      settings: [
        ['openai', 'sk-admin-1', '0.01', 'https://api.openai.com'],
        ['anthropic', 'sk-ant-admin01-x', '1000000000', 'https://api.anthropic.com'],
        ['anthropic:team', 'sk-ant-admin01-t', '150.5', 'http://127.0.0.1:9'],
      ],
    });
  });

  it('GIVEN the key or the budget missing THEN that one is named, with why it is needed, and there is no account', () => {
    expect(read({ OPENAI_MONTHLY_BUDGET: '200' })).toEqual({
      problems: [`OPENAI_ADMIN_KEY is missing; ${BECAUSE}`],
      settings: [],
    });
    expect(read({ OPENAI_ADMIN_KEY: 'sk-admin-1' })).toEqual({
      problems: [`OPENAI_MONTHLY_BUDGET is missing (USD a month, e.g. 200); ${BECAUSE}`],
      settings: [],
    });
  });

  it('GIVEN a budget of 0, below 0, with 3 decimals, above the limit or in words THEN it is refused as typed (clipped to 20 characters)', () => {
    const rule = 'must be a plain number of USD above 0 with at most 2 decimals, e.g. 200 or 150.50';
    for (const [typed, shown] of [
      ['0', '"0"'],
      ['-5', '"-5"'],
      ['150.505', '"150.505"'],
      ['1000000000.01', '"1000000000.01"'],
      ['two hundred dollars a month', '"two hundred dollars "'],
    ]) {
      expect(read({ OPENAI_ADMIN_KEY: 'sk-admin-1', OPENAI_MONTHLY_BUDGET: typed as string })).toEqual({
        problems: [`OPENAI_MONTHLY_BUDGET=${shown} ${rule}`],
        settings: [],
      });
    }
  });

  it('GIVEN a base URL that is not http(s) or holds a password THEN it is refused by name and there is no account', () => {
    const env = { OPENAI_ADMIN_KEY: 'sk-admin-1', OPENAI_MONTHLY_BUDGET: '200' };
    expect(read({ ...env, OPENAI_BASE_URL: 'ftp://api.openai.com' })).toEqual({
      problems: ['OPENAI_BASE_URL must be an http(s) URL (got ftp:)'],
      settings: [],
    });
    expect(read({ ...env, OPENAI_BASE_URL: 'https://me:pw@api.openai.com' })).toEqual({
      problems: ['OPENAI_BASE_URL must not hold a user or password; the key goes in OPENAI_ADMIN_KEY'],
      settings: [],
    });
  });

  it('GIVEN openai left out of PROVIDERS THEN nothing is missing, but a budget that is set is still judged', () => {
    expect(read({}, [], ['openai'])).toEqual({ problems: [], settings: [] });
    expect(read({ OPENAI_ADMIN_KEY: 'sk-admin-1' }, [], ['openai'])).toEqual({ problems: [], settings: [] });
    expect(read({ OPENAI_MONTHLY_BUDGET: '$200' }, [], ['openai'])).toEqual({
      problems: [
        'OPENAI_MONTHLY_BUDGET="$200" must be a plain number of USD above 0 with at most 2 decimals, e.g. 200 or 150.50',
      ],
      settings: [],
    });
  });
});
