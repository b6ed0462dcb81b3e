import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, validateThresholdText } from '../../src/config.js';

const base = {
  HOME: '/home/team',
  MOONSHOT_API_KEY: 'sk-config-SECRET',
  CLAUDE_DB_URL: 'postgres://postgres:pw-SECRET@db.example.supabase.co:5432/postgres',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('GIVEN only the provider secrets THEN every default is the documented one', () => {
    const c = loadConfig(base);
    expect(c.providers).toEqual(['claude', 'kimi']);
    expect(c.moonshot).toEqual({
      apiKey: 'sk-config-SECRET',
      baseUrl: 'https://api.moonshot.ai',
      currency: 'USD',
    });
    expect(c.claudeDb?.ssl).toBe('require');
    expect(c.claudeDb?.describe).toBe('db.example.supabase.co:5432/postgres');
    expect(c.defaultThreshold.toFixed(2)).toBe('5.00');
    expect(c.claudeStaleAfterMs).toBe(6 * 3_600_000);
    expect(c.providerTimeoutMs).toBe(10_000);
    expect(c.databaseUrl).toBeNull();
    expect(c.balanceLogDir).toBe('/home/team/.config');
    expect(c.summaryCron).toBe('0 * * * *');
    expect(c.summaryChannelId).toBe('1415741789758816369');
    expect(c.balanceCacheTtlMs).toBe(60_000);
    expect(c.discord.apiUrl).toBe('https://discord.com/api');
    expect(c.alerts).toMatchObject({
      cron: '*/5 * * * *',
      channelId: '1415741789758816369',
      recoveryMargin: 0.1,
      failureAfter: 3,
      repeatMs: 86_400_000,
      runwayDays: 3,
    });
  });

  it('GIVEN the moonshot.cn host THEN Kimi bills in CNY, unless MOONSHOT_CURRENCY overrides it', () => {
    expect(loadConfig({ ...base, MOONSHOT_BASE_URL: 'https://api.moonshot.cn/' }).moonshot).toMatchObject({
      baseUrl: 'https://api.moonshot.cn',
      currency: 'CNY',
    });
    expect(
      loadConfig({ ...base, MOONSHOT_BASE_URL: 'https://api.moonshot.cn', MOONSHOT_CURRENCY: 'usd' }).moonshot
        ?.currency,
    ).toBe('USD');
  });

  it("GIVEN the seed's Supabase variables THEN they make the Claude connection with the documented defaults", () => {
    const c = loadConfig({
      HOME: '/h',
      PROVIDERS: 'claude',
      SUPABASE_DB_HOST: 'db.abc.supabase.co',
      SUPABASE_DB_PASSWORD: 'x',
    });
    expect(c.claudeDb).toMatchObject({
      host: 'db.abc.supabase.co',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      ssl: 'require',
    });
    const local = loadConfig({
      HOME: '/h',
      PROVIDERS: 'claude',
      SUPABASE_DB_HOST: '127.0.0.1',
      SUPABASE_DB_PASSWORD: 'x',
      SUPABASE_DB_PORT: '6543',
    });
    expect(local.claudeDb).toMatchObject({ port: 6543, ssl: false });
  });

  it('GIVEN many bad values THEN one error lists every problem, and no secret appears in it', () => {
    const list = problems({
      HOME: '/h',
      PROVIDERS: 'claude,kimi,openai',
      CLAUDE_DB_URL: 'mysql://root:pw-SECRET@host/db',
      DEFAULT_THRESHOLD: '-5',
      CLAUDE_STALE_AFTER: 'soon',
      SUMMARY_CRON: '61 * * * *',
      SUMMARY_CHANNEL_ID: '#peter-chat',
      FAILURE_ALERT_AFTER: '0',
      LOG_LEVEL: 'loud',
      SMTP_URL: 'smtp://mail.example.com',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/SECRET-path but spaces',
    });
    const text = list.join('\n');
    for (const name of [
      'PROVIDERS',
      'MOONSHOT_API_KEY',
      'CLAUDE_DB_URL',
      'DEFAULT_THRESHOLD',
      'CLAUDE_STALE_AFTER',
      'SUMMARY_CRON',
      'SUMMARY_CHANNEL_ID',
      'FAILURE_ALERT_AFTER',
      'LOG_LEVEL',
      'ALERT_EMAIL_TO',
    ]) {
      expect(text).toContain(name);
    }
    expect(list.length).toBeGreaterThanOrEqual(10);
    expect(text).not.toContain('SECRET');
    const err = (() => {
      try {
        loadConfig({ HOME: '/h' });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.message).toContain('See README.md "Configuration"');
  });

  it('GIVEN a provider left out of PROVIDERS THEN its settings are not required', () => {
    expect(loadConfig({ HOME: '/h', PROVIDERS: 'kimi', MOONSHOT_API_KEY: 'k' }).claudeDb).toBeNull();
  });

  it('GIVEN durations and thresholds THEN they parse as documented', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('60')).toBe(60_000);
    expect(parseDuration('250', 'ms')).toBe(250);
    expect(parseDuration('6 hours')).toBeNull();
    expect(validateThresholdText('5')).toBeNull();
    expect(validateThresholdText('1000000')).toBeNull();
    expect(validateThresholdText('0.05')).toBeNull();
    expect(validateThresholdText('1000000.01')).toContain('at most 1000000');
    expect(validateThresholdText('5.123')).toContain('2 decimals');
    expect(validateThresholdText('1e3')).not.toBeNull();
    expect(validateThresholdText('-1')).not.toBeNull();
  });
});
