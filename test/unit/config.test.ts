import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  EXAMPLE_VALUES,
  loadConfig,
  parseDuration,
  validateThresholdText,
} from '../../src/core/config.js';

const base = {
  HOME: '/home/team',
  MOONSHOT_API_KEY: 'sk-config-SECRET',
  CLAUDE_DB_URL: 'postgres://postgres:pw-SECRET@db.example.supabase.co:5432/postgres',
};
const at = { baseDir: '/srv/cw' };
type Options = Parameters<typeof loadConfig>[1];

function problems(env: Record<string, string>, options: Options = at): string[] {
  try {
    loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}
const one = (env: Record<string, string>) => problems({ ...base, ...env });
const load = (env: Record<string, string>, options: Options = at) => loadConfig({ ...base, ...env }, options);

describe('configuration: defaults and values', () => {
  it('GIVEN only the provider secrets THEN every setting has its documented default', () => {
    const { accounts, ...c } = loadConfig(base, at);
    // The accounts, each built by its provider's module, in summary order.
    expect(accounts.map((a) => [a.id, a.module.id, a.currency, a.threshold])).toEqual([
      ['claude', 'claude', 'USD', undefined],
      ['kimi', 'kimi', 'USD', undefined],
    ]);
    expect({ ...c, defaultThreshold: c.defaultThreshold.toFixed() }).toEqual({
      providers: ['claude', 'kimi'],
      moonshot: { apiKey: 'sk-config-SECRET', baseUrl: 'https://api.moonshot.ai', currency: 'USD' },
      moonshotCurrency: 'USD',
      claudeDb: {
        connectionString: base.CLAUDE_DB_URL,
        ssl: 'require',
        describe: 'db.example.supabase.co:5432/postgres',
      },
      defaultThreshold: '5',
      claudeStaleAfterMs: 6 * 3_600_000,
      providerTimeoutMs: 10_000,
      databaseUrl: null,
      dataDir: '/srv/cw/data',
      sqlitePath: '/srv/cw/data/creditwatch.sqlite',
      historyRawDays: 90,
      balanceLogDir: '/home/team/.config',
      logLevel: 'info',
      logFormat: null,
      discord: { token: null, apiUrl: 'https://discord.com/api', applicationId: null, guildId: null },
      dryRun: false,
      summaryCron: '0 * * * *',
      summaryChannelId: '1415741789758816369',
      balanceCacheTtlMs: 60_000,
      adminRoleIds: [],
      http: { port: 8080, host: '127.0.0.1', token: null },
      alerts: {
        cron: '*/5 * * * *',
        channelId: '1415741789758816369',
        mentionRoleId: null,
        recoveryMargin: 0.1,
        failureAfter: 3,
        repeatMs: 86_400_000,
        runwayDays: 3,
        webhookUrl: null,
        smtpUrl: null,
        emailTo: [],
        emailFrom: null,
      },
      digest: { cron: '0 9 * * *', weekly: false },
    });
  });

  it('GIVEN every setting set THEN each is read as documented (blanks around values dropped)', () => {
    const c = load({
      PROVIDERS: ' Kimi , claude,kimi ',
      DEFAULT_THRESHOLD: '12.50',
      CLAUDE_STALE_AFTER: '90m',
      PROVIDER_TIMEOUT_MS: '5s',
      DATABASE_URL: 'postgresql://cw:pw@localhost:5432/cw/',
      DATA_DIR: 'state',
      HISTORY_RAW_DAYS: '36500',
      BALANCE_LOG_DIR: '/var/log/cw',
      LOG_LEVEL: 'DEBUG',
      LOG_FORMAT: 'Json',
      DISCORD_TOKEN: ' token-SECRET ',
      DISCORD_API_URL: 'http://proxy:8080/api/',
      DISCORD_APPLICATION_ID: '1415738925486018650',
      DISCORD_GUILD_ID: '1415740212306436137',
      DRY_RUN: 'yes',
      SUMMARY_CRON: '*/30 * * * *',
      SUMMARY_CHANNEL_ID: '11111111111111111',
      BALANCE_CACHE_TTL: '0',
      ADMIN_ROLE_IDS: '22222222222222222, 33333333333333333,',
      ALERT_CRON: '0 * * * * *',
      ALERT_MENTION_ROLE_ID: '44444444444444444444',
      RECOVERY_MARGIN: '20%',
      FAILURE_ALERT_AFTER: '1000',
      ALERT_REPEAT: '12h',
      RUNWAY_ALERT_DAYS: '0',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/x',
      SMTP_URL: 'smtps://u:p@smtp.example.com:465',
      ALERT_EMAIL_TO: 'ops@example.com',
      ALERT_EMAIL_FROM: 'Creditwatch <cw@example.com>',
    });
    expect(c.providers).toEqual(['claude', 'kimi']);
    expect(c.defaultThreshold.toFixed(2)).toBe('12.50');
    expect(c.claudeStaleAfterMs).toBe(90 * 60_000);
    expect(c.providerTimeoutMs).toBe(5000);
    expect(c.databaseUrl).toBe('postgresql://cw:pw@localhost:5432/cw');
    expect(c.dataDir).toBe('/srv/cw/state');
    expect(c.sqlitePath).toBe('/srv/cw/state/creditwatch.sqlite');
    expect(c.historyRawDays).toBe(36_500);
    expect(c.balanceLogDir).toBe('/var/log/cw');
    expect(c.logLevel).toBe('debug');
    expect(c.logFormat).toBe('json');
    expect(c.discord).toEqual({
      token: 'token-SECRET',
      apiUrl: 'http://proxy:8080/api',
      applicationId: '1415738925486018650',
      guildId: '1415740212306436137',
    });
    expect(c.dryRun).toBe(true);
    expect(c.summaryCron).toBe('*/30 * * * *');
    expect(c.summaryChannelId).toBe('11111111111111111');
    expect(c.balanceCacheTtlMs).toBe(0);
    expect(c.adminRoleIds).toEqual(['22222222222222222', '33333333333333333']);
    expect(c.alerts).toEqual({
      cron: '0 * * * * *',
      // ALERT_CHANNEL_ID unset: the summary's channel.
      channelId: '11111111111111111',
      mentionRoleId: '44444444444444444444',
      recoveryMargin: 0.2,
      failureAfter: 1000,
      repeatMs: 12 * 3_600_000,
      runwayDays: 0,
      webhookUrl: 'https://hooks.example.com/x',
      smtpUrl: 'smtps://u:p@smtp.example.com:465',
      emailTo: ['ops@example.com'],
      emailFrom: 'Creditwatch <cw@example.com>',
    });
    expect(load({ ALERT_CHANNEL_ID: '55555555555555555' }).alerts.channelId).toBe('55555555555555555');
    expect(load({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(load({ LOG_FORMAT: 'auto' }).logFormat).toBeNull();
    expect(load({ DATA_DIR: '/data' }).dataDir).toBe('/data');
    expect(load({ BALANCE_LOG_DIR: 'logs' }).balanceLogDir).toBe('/srv/cw/logs');
    // A blank value is unset.
    expect(load({ DEFAULT_THRESHOLD: '  ', LOG_LEVEL: '' }).logLevel).toBe('info');
  });

  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['on', true],
    ['0', false],
    ['False', false],
    ['no', false],
    ['OFF', false],
  ])('GIVEN DRY_RUN=%s THEN dry run is %s', (raw, want) => {
    expect(load({ DRY_RUN: raw }).dryRun).toBe(want);
  });

  it('GIVEN the HTTP settings THEN port 0 is off, a host and a token are read; bad ones are refused, the token unshown', () => {
    const c = load({ HTTP_PORT: '0', HTTP_HOST: '0.0.0.0', DASHBOARD_TOKEN: 'a-token-of-16-chars' });
    expect(c.http).toEqual({ port: 0, host: '0.0.0.0', token: 'a-token-of-16-chars' });
    expect(load({ HTTP_PORT: '65535', HTTP_HOST: '::' }).http).toMatchObject({ port: 65535, host: '::' });
    expect(one({ HTTP_PORT: '65536', HTTP_HOST: 'a host', DASHBOARD_TOKEN: 'short-SECRET' })).toEqual([
      'HTTP_PORT="65536" must be a whole number from 0 to 65535, in plain digits',
      'HTTP_HOST="a host" is not a host name or IP address to listen on; e.g. 127.0.0.1 or 0.0.0.0',
      'DASHBOARD_TOKEN must be 16 to 512 visible ASCII characters (no spaces); e.g. the output of `openssl rand -hex 32`',
    ]);
  });

  it('GIVEN DRY_RUN that is not a yes or no THEN it is refused', () => {
    for (const raw of ['maybe', '2', 'truee'])
      expect(one({ DRY_RUN: raw })).toEqual([`DRY_RUN=${JSON.stringify(raw)} must be true or false`]);
  });

  it('GIVEN a valid DEFAULT_THRESHOLD THEN it is the exact amount; an invalid one says why', () => {
    expect(load({ DEFAULT_THRESHOLD: '0' }).defaultThreshold.toFixed()).toBe('0');
    expect(load({ DEFAULT_THRESHOLD: '7.05' }).defaultThreshold.toFixed()).toBe('7.05');
    expect(load({ DEFAULT_THRESHOLD: '1000000' }).defaultThreshold.toFixed()).toBe('1000000');
    expect(one({ DEFAULT_THRESHOLD: '10.555' })).toEqual([
      'DEFAULT_THRESHOLD="10.555" has 3 decimals; use at most 2 decimals (e.g. 10.56)',
    ]);
    expect(one({ DEFAULT_THRESHOLD: '-5' })).toEqual([
      'DEFAULT_THRESHOLD="-5" must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50',
    ]);
    expect(one({ DEFAULT_THRESHOLD: '1000000.01' })).toEqual([
      'DEFAULT_THRESHOLD="1000000.01" must be at most 1000000',
    ]);
  });

  it('GIVEN PROVIDERS THEN known ids are kept once, in summary order; unknown or none are refused', () => {
    expect(load({ PROVIDERS: 'kimi,KIMI' }).providers).toEqual(['kimi']);
    expect(one({ PROVIDERS: 'kimi,gemini' })).toEqual([
      'PROVIDERS names unknown provider "gemini"; known: claude, kimi, deepseek, openrouter, siliconflow, novita, stepfun, openai, anthropic',
    ]);
    expect(one({ PROVIDERS: ' , ' })).toEqual([
      'PROVIDERS is empty; list at least one of claude, kimi, deepseek, openrouter, siliconflow, novita, stepfun, openai, anthropic',
    ]);
  });

  it('GIVEN whole numbers at and beyond their bounds THEN the bounds are inclusive', () => {
    expect(load({ HISTORY_RAW_DAYS: '30' }).historyRawDays).toBe(30);
    expect(load({ RUNWAY_ALERT_DAYS: '365' }).alerts.runwayDays).toBe(365);
    expect(load({ FAILURE_ALERT_AFTER: '1' }).alerts.failureAfter).toBe(1);
    expect(one({ HISTORY_RAW_DAYS: '29', RUNWAY_ALERT_DAYS: '366', FAILURE_ALERT_AFTER: '1001' })).toEqual([
      'HISTORY_RAW_DAYS="29" must be a whole number from 30 to 36500, in plain digits',
      'FAILURE_ALERT_AFTER="1001" must be a whole number from 1 to 1000, in plain digits',
      'RUNWAY_ALERT_DAYS="366" must be a whole number from 0 to 365, in plain digits',
    ]);
  });

  it('GIVEN durations below their minimum THEN they are refused; the cache TTL may be 0', () => {
    // CLAUDE_STALE_AFTER is Claude's module's setting: its problem comes with the accounts', after the rest.
    expect(one({ CLAUDE_STALE_AFTER: '0', ALERT_REPEAT: '0s', BALANCE_CACHE_TTL: '-1s' })).toEqual([
      'BALANCE_CACHE_TTL="-1s" is not a duration; use e.g. 90s, 15m, 6h or 1d',
      'ALERT_REPEAT="0s" is not a duration; use e.g. 90s, 15m, 6h or 1d',
      'CLAUDE_STALE_AFTER="0" is not a duration; use e.g. 90s, 15m, 6h or 1d',
    ]);
  });

  it('GIVEN Discord ids THEN 17–20 digits are taken and anything else is refused', () => {
    expect(load({ SUMMARY_CHANNEL_ID: '12345678901234567890' }).summaryChannelId).toBe(
      '12345678901234567890',
    );
    expect(
      one({
        SUMMARY_CHANNEL_ID: '#peter-chat',
        DISCORD_GUILD_ID: '1234567890123456',
        ALERT_CHANNEL_ID: '123456789012345678901',
        ADMIN_ROLE_IDS: '22222222222222222,admins',
      }),
    ).toEqual([
      'DISCORD_GUILD_ID="1234567890123456" is not a Discord id (17–20 digits); copy it with Developer Mode on',
      'SUMMARY_CHANNEL_ID="#peter-chat" is not a Discord id (17–20 digits); copy it with Developer Mode on',
      'ADMIN_ROLE_IDS has "admins", which is not a Discord role id',
      'ALERT_CHANNEL_ID="123456789012345678901" is not a Discord id (17–20 digits); copy it with Developer Mode on',
    ]);
  });

  it('GIVEN LOG_LEVEL or LOG_FORMAT outside their lists THEN they are refused with the list', () => {
    expect(one({ LOG_LEVEL: 'Loud', LOG_FORMAT: 'fancy' })).toEqual([
      'LOG_LEVEL="loud" must be one of fatal, error, warn, info, debug, trace, silent',
      'LOG_FORMAT="fancy" must be json or pretty (unset: pretty on a terminal)',
    ]);
  });

  it('GIVEN one problem THEN the error says so in the singular and points to the README', () => {
    expect(() => load({ DRY_RUN: 'x' })).toThrow(new ConfigError(['DRY_RUN="x" must be true or false']));
    expect(new ConfigError(['a']).message).toBe(
      'invalid configuration (1 problem):\n  - a\nSee README.md "Configuration" for every setting, its default and an example.',
    );
    expect(new ConfigError(['a', 'b']).message).toMatch(
      /^invalid configuration \(2 problems\):\n {2}- a\n {2}- b\n/,
    );
  });
});

describe('configuration: providers', () => {
  it('GIVEN the moonshot.cn host THEN Kimi bills in CNY, unless MOONSHOT_CURRENCY overrides it', () => {
    expect(load({ MOONSHOT_BASE_URL: 'https://api.moonshot.cn/' }).moonshot).toEqual({
      apiKey: 'sk-config-SECRET',
      baseUrl: 'https://api.moonshot.cn',
      currency: 'CNY',
    });
    expect(
      load({ MOONSHOT_BASE_URL: 'https://api.moonshot.cn', MOONSHOT_CURRENCY: 'usd' }).moonshot?.currency,
    ).toBe('USD');
    expect(load({ MOONSHOT_CURRENCY: 'cny' }).moonshotCurrency).toBe('CNY');
    expect(one({ MOONSHOT_CURRENCY: 'eur', MOONSHOT_BASE_URL: 'ftp://api.moonshot.ai' })).toEqual([
      // Kimi's module reads its settings as every HTTP provider's module does, in the same words.
      'MOONSHOT_BASE_URL must be an http(s) URL (got ftp:)',
      'MOONSHOT_CURRENCY="EUR" must be USD or CNY',
    ]);
  });

  it('GIVEN a provider left out of PROVIDERS THEN its settings are neither required nor used', () => {
    const kimiOnly = loadConfig({ HOME: '/h', PROVIDERS: 'kimi', MOONSHOT_API_KEY: 'k' }, at);
    expect(kimiOnly.claudeDb).toBeNull();
    const claudeOnly = loadConfig(
      { ...base, PROVIDERS: 'claude', MOONSHOT_BASE_URL: 'https://api.moonshot.cn' },
      at,
    );
    expect(claudeOnly.moonshot).toBeNull();
    // Known anyway: import-logs reads Kimi's log files in that currency.
    expect(claudeOnly.moonshotCurrency).toBe('CNY');
  });

  it('GIVEN a program that needs one provider THEN only its settings are required, with its reason', () => {
    const needs = { providers: ['kimi'] as const, because: (p: string) => `--provider ${p} checks it` };
    expect(problems({ HOME: '/h' }, { ...at, needs })).toEqual([
      'MOONSHOT_API_KEY is missing; --provider kimi checks it',
    ]);
    expect(
      loadConfig({ HOME: '/h', PROVIDERS: 'claude', MOONSHOT_API_KEY: 'k' }, { ...at, needs }).moonshot
        ?.apiKey,
    ).toBe('k');
    expect(loadConfig({ HOME: '/h' }, { ...at, providerSettings: 'optional' })).toMatchObject({
      moonshot: null,
      claudeDb: null,
    });
  });

  it('GIVEN no provider settings THEN each missing one is named with the way out', () => {
    expect(problems({ HOME: '/h' })).toEqual([
      'CLAUDE_DB_URL (or SUPABASE_DB_HOST + SUPABASE_DB_PASSWORD) is missing; claude is in PROVIDERS. Set it, or remove claude from PROVIDERS',
      'MOONSHOT_API_KEY is missing; kimi is in PROVIDERS. Set it, or remove kimi from PROVIDERS',
    ]);
  });

  it("GIVEN the seed's Supabase variables THEN they make the Claude connection, password included", () => {
    const c = loadConfig(
      {
        HOME: '/h',
        PROVIDERS: 'claude',
        SUPABASE_DB_HOST: 'db.abc.supabase.co',
        SUPABASE_DB_PASSWORD: 'pw-SECRET',
      },
      at,
    );
    expect(c.claudeDb).toEqual({
      host: 'db.abc.supabase.co',
      port: 5432,
      user: 'postgres',
      password: 'pw-SECRET',
      database: 'postgres',
      ssl: 'require',
      describe: 'db.abc.supabase.co:5432/postgres',
    });
    const local = loadConfig(
      {
        HOME: '/h',
        PROVIDERS: 'claude',
        SUPABASE_DB_HOST: '127.0.0.1',
        SUPABASE_DB_PASSWORD: 'x',
        SUPABASE_DB_PORT: '65535',
        SUPABASE_DB_USER: 'reader',
        SUPABASE_DB_NAME: 'billing',
      },
      at,
    );
    expect(local.claudeDb).toEqual({
      host: '127.0.0.1',
      port: 65535,
      user: 'reader',
      password: 'x',
      database: 'billing',
      ssl: false,
      describe: '127.0.0.1:65535/billing',
    });
  });

  it('GIVEN SUPABASE_DB_HOST without a password or with a bad port THEN each is named', () => {
    expect(
      problems({ HOME: '/h', PROVIDERS: 'claude', SUPABASE_DB_HOST: '127.0.0.1', SUPABASE_DB_PORT: '65536' }),
    ).toEqual([
      'SUPABASE_DB_PORT="65536" must be a whole number from 1 to 65535, in plain digits',
      'SUPABASE_DB_PASSWORD is missing; it is needed with SUPABASE_DB_HOST (or set CLAUDE_DB_URL)',
    ]);
  });

  it.each([
    ['db.x.supabase.co', undefined, 'require'],
    ['db.x.supabase.com', undefined, 'require'],
    ['pg.internal', undefined, false],
    ['db.x.supabase.co', 'off', false],
    ['pg.internal', 'require', 'require'],
    ['pg.internal', 'VERIFY', 'verify'],
  ])('GIVEN host %s and CLAUDE_DB_SSL=%s THEN TLS is %s', (host, ssl, want) => {
    const env = {
      ...base,
      CLAUDE_DB_URL: `postgres://u:p@${host}/db`,
      ...(ssl ? { CLAUDE_DB_SSL: ssl } : {}),
    };
    expect(loadConfig(env, at).claudeDb?.ssl).toBe(want);
    expect(loadConfig(env, at).claudeDb?.describe).toBe(`${host}:5432/db`);
  });

  it('GIVEN CLAUDE_DB_SSL outside its list THEN it is refused', () => {
    expect(one({ CLAUDE_DB_SSL: 'Yes' })).toEqual(['CLAUDE_DB_SSL="yes" must be off, require or verify']);
  });

  it('GIVEN the values .env.example ships THEN each is refused by name, without showing it', () => {
    const list = problems({ HOME: '/h', ...EXAMPLE_VALUES });
    expect(list).toEqual([
      'CLAUDE_DB_URL is still the example value from .env.example; replace it with your own (README.md "Configuration")',
      'SUPABASE_DB_HOST is still the example value from .env.example; replace it with your own (README.md "Configuration")',
      'SUPABASE_DB_PASSWORD is still the example value from .env.example; replace it with your own (README.md "Configuration")',
      'MOONSHOT_API_KEY is still the example value from .env.example; replace it with your own (README.md "Configuration")',
    ]);
    // Not needed, not refused: a copied .env with kimi switched off still runs.
    expect(
      loadConfig({ ...base, PROVIDERS: 'claude', MOONSHOT_API_KEY: EXAMPLE_VALUES.MOONSHOT_API_KEY! }, at)
        .moonshot,
    ).toBeNull();
  });
});

describe('configuration: the provider modules read every provider setting', () => {
  it('GIVEN a provider left out of PROVIDERS THEN a value of its default account that is set is still judged, nothing is missing', () => {
    expect(
      problems({
        HOME: '/h',
        PROVIDERS: 'kimi',
        MOONSHOT_API_KEY: 'k',
        CLAUDE_DB_SSL: 'maybe',
        DEEPSEEK_BASE_URL: 'ftp://api.deepseek.com',
        DEEPSEEK_THRESHOLD: 'ten',
      }),
    ).toEqual([
      'CLAUDE_DB_SSL="maybe" must be off, require or verify',
      'DEEPSEEK_BASE_URL must be an http(s) URL (got ftp:)',
      'DEEPSEEK_THRESHOLD="ten" must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50',
    ]);
    // Complete settings of an unlisted provider are not an account.
    const c = loadConfig(
      { HOME: '/h', PROVIDERS: 'kimi', MOONSHOT_API_KEY: 'k', DEEPSEEK_API_KEY: 'sk-d' },
      at,
    );
    expect(c.accounts.map((a) => a.id)).toEqual(['kimi']);
  });

  it('GIVEN Claude listed THEN its stale limit and TLS mode come from its module, as the seed named them', () => {
    const c = load({ PROVIDERS: 'claude', CLAUDE_STALE_AFTER: '90m', CLAUDE_DB_SSL: 'verify' });
    expect(c.claudeStaleAfterMs).toBe(90 * 60_000);
    expect(c.claudeDb?.ssl).toBe('verify');
    const claude = c.accounts.find((a) => a.id === 'claude')!.settings as {
      staleAfterMs: number;
      db: unknown;
    };
    expect(claude.staleAfterMs).toBe(90 * 60_000);
    expect(claude.db).toMatchObject({ connectionString: base.CLAUDE_DB_URL, ssl: true });
    // Left out, the limit is the default whatever is set: no Claude reading is judged by it.
    expect(load({ PROVIDERS: 'kimi', CLAUDE_STALE_AFTER: '90m' }).claudeStaleAfterMs).toBe(6 * 3_600_000);
  });

  it('GIVEN a named Kimi account THEN the seed views stay those of the default account', () => {
    const c = load({
      PROVIDERS: 'kimi,kimi:cn',
      MOONSHOT_CN_API_KEY: 'sk-cn',
      MOONSHOT_CN_BASE_URL: 'https://api.moonshot.cn',
    });
    expect(c.moonshot).toEqual({
      apiKey: 'sk-config-SECRET',
      baseUrl: 'https://api.moonshot.ai',
      currency: 'USD',
    });
    expect(c.moonshotCurrency).toBe('USD');
    expect(c.accounts.map((a) => [a.id, a.currency])).toEqual([
      ['kimi', 'USD'],
      ['kimi:cn', 'CNY'],
    ]);
  });
});

describe('configuration: every problem at once, no secret shown', () => {
  it('GIVEN many bad values THEN one error lists each of them exactly', () => {
    const list = problems({
      HOME: '/h',
      PROVIDERS: 'claude,kimi,gemini',
      CLAUDE_DB_URL: 'mysql://root:pw-SECRET@host/db',
      DEFAULT_THRESHOLD: '-5',
      CLAUDE_STALE_AFTER: 'soon',
      SUMMARY_CRON: '61 * * * *',
      SUMMARY_CHANNEL_ID: '#peter-chat',
      FAILURE_ALERT_AFTER: '0',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'http://user:pw-SECRET@db/x',
      SMTP_URL: 'smtp://mail.example.com',
      ALERT_WEBHOOK_URL: 'hooks.example.com/SECRET-path',
    });
    expect(list).toEqual([
      'PROVIDERS names unknown provider "gemini"; known: claude, kimi, deepseek, openrouter, siliconflow, novita, stepfun, openai, anthropic',
      'DEFAULT_THRESHOLD="-5" must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50',
      'DATABASE_URL is not a valid postgres: or postgresql: URL',
      'LOG_LEVEL="loud" must be one of fatal, error, warn, info, debug, trace, silent',
      expect.stringMatching(
        /^SUMMARY_CRON="61 \* \* \* \*" is not a cron pattern \(.+\); e\.g\. "0 \* \* \* \*"$/,
      ),
      'SUMMARY_CHANNEL_ID="#peter-chat" is not a Discord id (17–20 digits); copy it with Developer Mode on',
      'FAILURE_ALERT_AFTER="0" must be a whole number from 1 to 1000, in plain digits',
      'ALERT_WEBHOOK_URL is not a valid https: or http: URL',
      'ALERT_EMAIL_TO is missing; SMTP_URL is set, so say who gets the e-mail',
      // The accounts' problems, in summary order, each as its provider's module words it; a set but invalid
      // CLAUDE_DB_URL is no longer also called missing.
      'CLAUDE_STALE_AFTER="soon" is not a duration; use e.g. 90s, 15m, 6h or 1d',
      'CLAUDE_DB_URL is not a valid postgres: or postgresql: URL',
      'MOONSHOT_API_KEY is missing; kimi is in PROVIDERS. Set it, or remove kimi from PROVIDERS',
    ]);
    expect(list.join('\n')).not.toContain('SECRET');
  });

  it('GIVEN ALERT_EMAIL_TO without SMTP_URL THEN the server is asked for', () => {
    expect(one({ ALERT_EMAIL_TO: 'ops@example.com' })).toEqual([
      'SMTP_URL is missing; ALERT_EMAIL_TO is set, so say which server sends it',
    ]);
  });
});

describe('configuration: values that used to pass and meant something else', () => {
  it('GIVEN PROVIDER_TIMEOUT_MS outside 100 ms – 60 s THEN it is refused with the range; inside, units work', () => {
    for (const raw of ['3000000000', '99', '60001', '2m']) {
      expect(one({ PROVIDER_TIMEOUT_MS: raw }), raw).toEqual([
        `PROVIDER_TIMEOUT_MS=${JSON.stringify(raw)} must be from 100 ms to 60 s; e.g. 10000 (milliseconds) or 10s`,
      ]);
    }
    expect(one({ PROVIDER_TIMEOUT_MS: 'soon' })).toEqual([
      'PROVIDER_TIMEOUT_MS="soon" is not a duration; use e.g. 90s, 15m, 6h or 1d',
    ]);
    expect(load({ PROVIDER_TIMEOUT_MS: '100' }).providerTimeoutMs).toBe(100);
    expect(load({ PROVIDER_TIMEOUT_MS: '60s' }).providerTimeoutMs).toBe(60_000);
    expect(load({ PROVIDER_TIMEOUT_MS: '60000' }).providerTimeoutMs).toBe(60_000);
  });

  it('GIVEN a cron pattern that never fires THEN it is refused, for both schedules', () => {
    expect(one({ SUMMARY_CRON: '0 0 31 2 *', ALERT_CRON: '0 0 30 2 *' })).toEqual([
      'SUMMARY_CRON="0 0 31 2 *" never fires (no such date); e.g. "0 * * * *"',
      'ALERT_CRON="0 0 30 2 *" never fires (no such date); e.g. "*/5 * * * *"',
    ]);
    expect(load({ SUMMARY_CRON: '0 0 29 2 *' }).summaryCron).toBe('0 0 29 2 *');
  });

  it('GIVEN integers written other than in plain decimal digits THEN they are refused', () => {
    for (const raw of ['0x10', '1e3', '+5', '5.0', '0b11', '0o7', '1_000', '٣', '5 5']) {
      expect(one({ FAILURE_ALERT_AFTER: raw }), raw).toEqual([
        `FAILURE_ALERT_AFTER=${JSON.stringify(raw)} must be a whole number from 1 to 1000, in plain digits`,
      ]);
    }
    // Surrounding blanks are dropped from every variable, as a shell or .env file might leave them.
    expect(load({ FAILURE_ALERT_AFTER: ' 5 ' }).alerts.failureAfter).toBe(5);
    expect(load({ RUNWAY_ALERT_DAYS: '007' }).alerts.runwayDays).toBe(7);
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
      expect(load({ ...smtp, ALERT_EMAIL_FROM: good }).alerts.emailFrom, good).toBe(good);
    }
    expect(one({ ...smtp, ALERT_EMAIL_TO: 'ops@example.com,cfo' })).toEqual([
      'ALERT_EMAIL_TO has "cfo", which is not an e-mail address; use name@example.com or "Name <name@example.com>"',
    ]);
    expect(
      load({ ...smtp, ALERT_EMAIL_TO: 'Ops <ops@example.com>, cfo@example.com' }).alerts.emailTo,
    ).toEqual(['Ops <ops@example.com>', 'cfo@example.com']);
  });

  it('GIVEN RECOVERY_MARGIN THEN a percentage or a fraction below 1 is read, and anything ambiguous is refused', () => {
    const margin = (raw: string) => load({ RECOVERY_MARGIN: raw }).alerts.recoveryMargin;
    expect(margin('10%')).toBeCloseTo(0.1, 12);
    expect(margin('1.5%')).toBeCloseTo(0.015, 12);
    expect(margin('100%')).toBeCloseTo(1, 12);
    expect(margin('1000 %')).toBeCloseTo(10, 12);
    expect(margin('0.1')).toBeCloseTo(0.1, 12);
    expect(margin('0.25')).toBe(0.25);
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

  it('GIVEN durations and thresholds THEN they parse as documented', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('60')).toBe(60_000);
    expect(parseDuration('250', 'ms')).toBe(250);
    expect(parseDuration('6 hours')).toBeNull();
    expect(validateThresholdText(' 5 ')).toBeNull();
    expect(validateThresholdText('0.05')).toBeNull();
    expect(validateThresholdText('1e3')).toBe(
      'must be a plain number from 0 to 1000000 with at most 2 decimals, e.g. 5 or 12.50',
    );
    expect(validateThresholdText('12345678')).toBe('must be at most 1000000');
  });

  it('GIVEN a threshold with 3 decimals THEN the reason reads as the end of a sentence with a rounded example', () => {
    expect(validateThresholdText('10.555')).toBe('has 3 decimals; use at most 2 decimals (e.g. 10.56)');
    expect(`Threshold not changed: 10.555 ${validateThresholdText('10.555')}.`).toBe(
      'Threshold not changed: 10.555 has 3 decimals; use at most 2 decimals (e.g. 10.56).',
    );
  });
});

describe('configuration: the digest (DIGEST_CRON, DIGEST_WEEKLY)', () => {
  it('GIVEN DIGEST_CRON and DIGEST_WEEKLY set THEN they are read; off (any case) turns the digest off', () => {
    expect(load({ DIGEST_CRON: '30 7 * * 1-5', DIGEST_WEEKLY: 'yes' }).digest).toEqual({
      cron: '30 7 * * 1-5',
      weekly: true,
    });
    expect(load({ DIGEST_CRON: '0 0 9 * * *' }).digest.cron).toBe('0 0 9 * * *');
    expect(load({ DIGEST_CRON: 'off' }).digest).toEqual({ cron: null, weekly: false });
    expect(load({ DIGEST_CRON: ' OFF ', DIGEST_WEEKLY: 'false' }).digest.cron).toBeNull();
  });

  it('GIVEN a DIGEST_CRON that is not a pattern, or never fires THEN it is refused with the default and off as examples', () => {
    expect(one({ DIGEST_CRON: 'daily' })).toEqual([
      expect.stringMatching(
        /^DIGEST_CRON="daily" is not a cron pattern \(.+\); e\.g\. "0 9 \* \* \*", or off to turn it off$/,
      ),
    ]);
    expect(one({ DIGEST_CRON: '0 9 31 2 *' })).toEqual([
      'DIGEST_CRON="0 9 31 2 *" never fires (no such date); e.g. "0 9 * * *", or off to turn it off',
    ]);
    // The other schedules keep their words: `off` is no pattern for them.
    expect(one({ SUMMARY_CRON: 'off' })).toEqual([
      expect.stringMatching(/^SUMMARY_CRON="off" is not a cron pattern \(.+\); e\.g\. "0 \* \* \* \*"$/),
    ]);
  });

  it('GIVEN DIGEST_WEEKLY that is not a flag, or true with DIGEST_CRON off THEN each is refused with what to do', () => {
    expect(one({ DIGEST_WEEKLY: 'mondays' })).toEqual(['DIGEST_WEEKLY="mondays" must be true or false']);
    expect(one({ DIGEST_CRON: 'off', DIGEST_WEEKLY: 'true' })).toEqual([
      'DIGEST_WEEKLY is true but DIGEST_CRON is off; the weekly digest goes out at the first DIGEST_CRON time of each Monday (UTC), so set DIGEST_CRON (e.g. "0 9 * * *") or DIGEST_WEEKLY=false',
    ]);
    // Listed with every other problem at once.
    expect(one({ DIGEST_CRON: 'nope', DIGEST_WEEKLY: 'maybe', LOG_LEVEL: 'loud' })).toHaveLength(3);
  });
});
