import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  envFilePath,
  loadConfig,
  parseDuration,
  parseRecoveryMargin,
  projectRoot,
  readEnvironment,
} from '../../src/core/config.js';

/** The edges of the settings the main configuration suite (config.test.ts) does not reach. */
const ROOT = resolve(import.meta.dirname, '../..');
const base = { HOME: '/home/team', PROVIDERS: 'kimi', MOONSHOT_API_KEY: 'sk-edges-SECRET' };
const at = { baseDir: '/srv/cw' };
const load = (env: Record<string, string | undefined>) => loadConfig({ ...base, ...env }, at);
function problems(env: Record<string, string | undefined>): string[] {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('configuration: where the settings come from', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'cw-config-edges-'));
    dirs.push(d);
    return d;
  };

  it('GIVEN the module THEN the project folder is the one holding package.json above it', () => {
    expect(projectRoot()).toBe(ROOT);
    expect(JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')).name).toBe('creditwatch');
  });

  it('GIVEN a folder below a package.json THEN the nearest such folder; with none above, the current directory', () => {
    const top = tempDir();
    const deep = join(top, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    expect(projectRoot(deep)).toBe(process.cwd());
    writeFileSync(join(top, 'package.json'), '{}');
    expect(projectRoot(deep)).toBe(top);
    writeFileSync(join(top, 'a', 'package.json'), '{}');
    expect(projectRoot(deep)).toBe(join(top, 'a'));
    expect(projectRoot(top)).toBe(top);
  });

  it('GIVEN ENV_FILE THEN it names the settings file (trimmed, relative to the current directory); else .env in the project', () => {
    expect(envFilePath({ ENV_FILE: '  other.env ' })).toBe(join(process.cwd(), 'other.env'));
    expect(envFilePath({ ENV_FILE: '/etc/cw.env' })).toBe('/etc/cw.env');
    expect(envFilePath({ ENV_FILE: '   ' })).toBe(join(ROOT, '.env'));
    expect(envFilePath({})).toBe(join(ROOT, '.env'));
  });

  it('GIVEN a settings file and the environment THEN both are read and the environment wins', () => {
    const file = join(tempDir(), 'settings.env');
    writeFileSync(file, 'CW_EDGES_FROM_FILE=file-value\nCW_EDGES_BOTH=from-file\n');
    process.env.CW_EDGES_BOTH = 'from-env';
    try {
      const env = readEnvironment(file);
      expect(env.CW_EDGES_FROM_FILE).toBe('file-value');
      expect(env.CW_EDGES_BOTH).toBe('from-env');
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.CW_EDGES_BOTH;
    }
    const missing = join(tempDir(), 'absent.env');
    expect(existsSync(missing)).toBe(false);
    expect(readEnvironment(missing).CW_EDGES_FROM_FILE).toBeUndefined();
  });

  it('GIVEN an environment with a variable that has no value THEN it counts as unset', () => {
    expect(load({ DRY_RUN: undefined, LOG_LEVEL: undefined }).dryRun).toBe(false);
  });
});

describe('configuration: values at their edges', () => {
  it('GIVEN a bad configuration THEN the error is a ConfigError by name', () => {
    expect(() => load({ DRY_RUN: 'perhaps' })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });

  it('GIVEN Discord unset or set with trailing slashes THEN the API URL is the default, or the URL without them', () => {
    expect(load({}).discord.apiUrl).toBe('https://discord.com/api');
    expect(load({ DISCORD_API_URL: 'http://proxy:8080/api///' }).discord.apiUrl).toBe(
      'http://proxy:8080/api',
    );
  });

  it('GIVEN a flag with a yes or no word inside other text THEN it is refused, not read', () => {
    for (const raw of ['xtrue', 'truex', 'yes please', 'x0', '0x', 'offf', 'no!'])
      expect(problems({ DRY_RUN: raw }), raw).toEqual([
        `DRY_RUN=${JSON.stringify(raw)} must be true or false`,
      ]);
    for (const [raw, value] of [
      ['ON', true],
      ['Yes', true],
      ['1', true],
      ['OFF', false],
      ['No', false],
      ['0', false],
    ] as const)
      expect(load({ DRY_RUN: raw }).dryRun, raw).toBe(value);
  });

  it('GIVEN a dashboard token with a character outside visible ASCII at either end THEN it is refused, unshown', () => {
    const token = 'abcdefghijklmnop';
    expect(load({ DASHBOARD_TOKEN: token }).http.token).toBe(token);
    for (const raw of [`é${token}`, `${token}é`, `${token.slice(0, 8)} ${token.slice(8)}`]) {
      const found = problems({ DASHBOARD_TOKEN: raw });
      expect(found, raw).toEqual([
        'DASHBOARD_TOKEN must be 16 to 512 visible ASCII characters (no spaces); e.g. the output of `openssl rand -hex 32`',
      ]);
      expect(found.join('')).not.toContain(token.slice(0, 8));
    }
  });

  it('GIVEN a duration with a unit other than the default THEN the unit counts, in any case', () => {
    expect(parseDuration('2h', 'ms')).toBe(7_200_000);
    expect(parseDuration('2 H')).toBe(7_200_000);
    expect(parseDuration('3', 'ms')).toBe(3);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(load({ ALERT_REPEAT: '90m' }).alerts.repeatMs).toBe(5_400_000);
  });

  it('GIVEN a duration out of its range THEN the problem is listed and the default stands in for the other rules', () => {
    expect(problems({ PROVIDER_TIMEOUT_MS: '2m' })).toHaveLength(1);
    expect(problems({ PROVIDER_TIMEOUT_MS: '2m' })[0]).toMatch(/^PROVIDER_TIMEOUT_MS="2m" must be from /);
  });

  it('GIVEN RECOVERY_MARGIN padded or too long for a number THEN padding is dropped and an infinite figure refused', () => {
    expect(parseRecoveryMargin(' 10% ')).toBeCloseTo(0.1, 12);
    expect(parseRecoveryMargin('\t0.2\n')).toBe(0.2);
    expect(parseRecoveryMargin(`${'9'.repeat(400)}%`)).toBe(
      'must be a percentage such as 10% or a fraction below 1 such as 0.1',
    );
  });

  it('GIVEN an account problem and a setting problem THEN each is one line: the sentence as is, the setting by name', () => {
    const found = problems({ PROVIDERS: 'kimi,deepseek', DRY_RUN: 'maybe' });
    expect(found).toContain('DRY_RUN="maybe" must be true or false');
    expect(found.some((p) => p.startsWith('DEEPSEEK_API_KEY is missing'))).toBe(true);
  });
});
