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

describe('configuration: values that used to pass and meant something else', () => {
  const one = (env: Record<string, string>) => problems({ ...base, ...env });

  it('GIVEN PROVIDER_TIMEOUT_MS outside 100 ms – 60 s THEN it is refused with the range; inside, units work', () => {
    for (const raw of ['3000000000', '99', '60001', '2m']) {
      expect(one({ PROVIDER_TIMEOUT_MS: raw }), raw).toEqual([
        `PROVIDER_TIMEOUT_MS=${JSON.stringify(raw)} must be from 100 ms to 60 s; e.g. 10000 (milliseconds) or 10s`,
      ]);
    }
    expect(loadConfig({ ...base, PROVIDER_TIMEOUT_MS: '100' }).providerTimeoutMs).toBe(100);
    expect(loadConfig({ ...base, PROVIDER_TIMEOUT_MS: '60s' }).providerTimeoutMs).toBe(60_000);
    expect(loadConfig({ ...base, PROVIDER_TIMEOUT_MS: '60000' }).providerTimeoutMs).toBe(60_000);
  });

  it('GIVEN a cron pattern that never fires THEN it is refused, for both schedules', () => {
    const list = one({ SUMMARY_CRON: '0 0 31 2 *', ALERT_CRON: '0 0 30 2 *' });
    expect(list).toEqual([
      'SUMMARY_CRON="0 0 31 2 *" never fires (no such date); e.g. "0 * * * *"',
      'ALERT_CRON="0 0 30 2 *" never fires (no such date); e.g. "*/5 * * * *"',
    ]);
    expect(loadConfig({ ...base, SUMMARY_CRON: '0 0 29 2 *' }).summaryCron).toBe('0 0 29 2 *');
  });

  it('GIVEN integers written other than in plain decimal digits THEN they are refused', () => {
    for (const raw of ['0x10', '1e3', '+5', '5.0', '0b11', '0o7', '1_000', '٣', '5 5']) {
      expect(one({ FAILURE_ALERT_AFTER: raw }), raw).toEqual([
        `FAILURE_ALERT_AFTER=${JSON.stringify(raw)} must be a whole number from 1 to 1000, in plain digits`,
      ]);
    }
    // Surrounding blanks are dropped from every variable, as a shell or .env file might leave them.
    expect(loadConfig({ ...base, FAILURE_ALERT_AFTER: ' 5 ' }).alerts.failureAfter).toBe(5);
    expect(loadConfig({ ...base, RUNWAY_ALERT_DAYS: '007' }).alerts.runwayDays).toBe(7);
  });

  it('GIVEN e-mail senders and recipients THEN addresses, with or without a display name, are checked', () => {
    const smtp = { SMTP_URL: 'smtp://mail.example.com', ALERT_EMAIL_TO: 'ops@example.com' };
    for (const bad of [
      'not an address',
      'a@b',
      '@example.com',
      'a..b@example.com',
      'Ops <ops@example>',
      'a@-x.com',
    ]) {
      expect(one({ ...smtp, ALERT_EMAIL_FROM: bad }), bad).toEqual([
        `ALERT_EMAIL_FROM=${JSON.stringify(bad)} is not an e-mail address; use name@example.com or "Name <name@example.com>"`,
      ]);
    }
    for (const good of [
      'creditwatch@example.com',
      'Creditwatch <creditwatch@example.com>',
      '"Credit Watch, Ops" <cw+alerts@mail.example.co.uk>',
      '<cw@example.com>',
    ]) {
      expect(loadConfig({ ...base, ...smtp, ALERT_EMAIL_FROM: good }).alerts.emailFrom, good).toBe(good);
    }
    expect(one({ ...smtp, ALERT_EMAIL_TO: 'ops@example.com,cfo' })).toEqual([
      'ALERT_EMAIL_TO has "cfo", which is not an e-mail address; use name@example.com or "Name <name@example.com>"',
    ]);
    expect(
      loadConfig({ ...base, ...smtp, ALERT_EMAIL_TO: 'Ops <ops@example.com>, cfo@example.com' }).alerts
        .emailTo,
    ).toEqual(['Ops <ops@example.com>', 'cfo@example.com']);
  });

  it('GIVEN RECOVERY_MARGIN THEN a percentage or a fraction below 1 is read, and anything ambiguous is refused', () => {
    const margin = (raw: string) => loadConfig({ ...base, RECOVERY_MARGIN: raw }).alerts.recoveryMargin;
    expect(margin('10%')).toBeCloseTo(0.1, 12);
    expect(margin('1.5%')).toBeCloseTo(0.015, 12);
    expect(margin('100%')).toBeCloseTo(1, 12);
    expect(margin('0.1')).toBeCloseTo(0.1, 12);
    expect(margin('0')).toBe(0);
    expect(margin('0%')).toBe(0);
    for (const raw of ['1', '1.5', '10', '1.0']) {
      expect(one({ RECOVERY_MARGIN: raw }), raw).toEqual([
        `RECOVERY_MARGIN=${JSON.stringify(raw)} is ambiguous; write a percentage such as ${raw}% or a fraction below 1 such as 0.1`,
      ]);
    }
    for (const raw of ['ten', '-5%', '0x10', '1e-1']) {
      expect(one({ RECOVERY_MARGIN: raw }), raw).toEqual([
        `RECOVERY_MARGIN=${JSON.stringify(raw)} must be a percentage such as 10% or a fraction below 1 such as 0.1`,
      ]);
    }
    expect(one({ RECOVERY_MARGIN: '1001%' })).toEqual(['RECOVERY_MARGIN="1001%" must be at most 1000%']);
  });

  it('GIVEN a threshold with 3 decimals THEN the reason reads as the end of a sentence with a rounded example', () => {
    expect(validateThresholdText('10.555')).toBe('has 3 decimals; use at most 2 decimals (e.g. 10.56)');
    expect(`Threshold not changed: 10.555 ${validateThresholdText('10.555')}.`).toBe(
      'Threshold not changed: 10.555 has 3 decimals; use at most 2 decimals (e.g. 10.56).',
    );
  });
});
