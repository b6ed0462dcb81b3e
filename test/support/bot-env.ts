import { join } from 'node:path';
import type { FakeDiscord } from './fake-discord.js';

/**
 * The settings every in-process e2e bot shares: the fake Discord (token, REST base URL, summary channel), no
 * HTTP server, and schedules that do not fire during a test — the summary and alert checks once a year, the
 * digest off. A test that wants a scheduled post, or the HTTP server, sets its own value after this.
 */
export function fakeDiscordEnv(fake: FakeDiscord): Record<string, string> {
  return {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    SUMMARY_CHANNEL_ID: fake.channelId,
    HTTP_PORT: '0',
    SUMMARY_CRON: '0 0 1 1 *',
    ALERT_CRON: '0 0 1 1 *',
    DIGEST_CRON: 'off',
  };
}

/** {@link fakeDiscordEnv} for a bot whose home, history (`data/`) and balance-log files (`logs/`) are under `dir`. */
export function botEnv(dir: string, fake: FakeDiscord): Record<string, string> {
  return {
    HOME: dir,
    DATA_DIR: join(dir, 'data'),
    BALANCE_LOG_DIR: join(dir, 'logs'),
    ...fakeDiscordEnv(fake),
  };
}
