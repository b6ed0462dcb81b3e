import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { parseAmount } from '../../src/core/money.js';
import { type Bot, startBot } from '../../src/entry/bot.js';
import { botEnv } from '../support/bot-env.js';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord.js';
import {
  type FakeMoonshot,
  getClosedPort,
  moonshotBalance,
  startFakeMoonshot,
} from '../support/fake-moonshot.js';
import { createTestDatabase, type TestDatabase, withClient } from '../support/postgres.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'page-token-0123456789abcdef';
const logger = createLogger('silent');
/** `UPDATE_SCREENSHOT=1` copies the screenshot to docs/status-page.png, the one the README shows. */
const README_SCREENSHOT = join(import.meta.dirname, '../../docs/status-page.png');

interface PageFacts {
  readonly h1: number;
  readonly unlabelledLandmarks: string[];
  readonly horizontalScroll: boolean;
  readonly images: { src: string; complete: boolean; naturalWidth: number }[];
  readonly lowContrast: string[];
  readonly figures: Record<string, string>;
  readonly runways: Record<string, string>;
}

/**
 * Measured in the page (plain JavaScript, run by Chromium): headings, landmarks, horizontal scroll, images,
 * each account's figure and runway, and the contrast of every text against its nearest background.
 */
const FACTS_SCRIPT = `(() => {
    const rgb = (c) => (c.match(/[0-9.]+/g) ?? []).map(Number);
    const lum = ([r = 0, g = 0, b = 0]) => {
      const ch = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length >= 3 && (c[3] ?? 1) > 0) return c;
      }
      return [255, 255, 255];
    };
    const lowContrast = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim()) continue;
      const fg = lum(rgb(getComputedStyle(el).color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) lowContrast.push(\`\${n.textContent.trim().slice(0, 30)} (\${ratio.toFixed(2)})\`);
    }
    const landmarks = [...document.querySelectorAll('header, main, footer, nav, aside, section')];
    return {
      h1: document.querySelectorAll('h1').length,
      unlabelledLandmarks: landmarks
        .filter((l) => !l.getAttribute('aria-label') && !l.getAttribute('aria-labelledby'))
        .map((l) => l.tagName),
      horizontalScroll: document.documentElement.scrollWidth > document.documentElement.clientWidth,
      images: [...document.images].map((i) => ({
        src: i.src,
        complete: i.complete,
        naturalWidth: i.naturalWidth,
      })),
      lowContrast,
      runways: Object.fromEntries(
        [...document.querySelectorAll('[data-account]')].map((e) => [
          e.dataset.account ?? '',
          [...(e.parentElement?.querySelectorAll('dt') ?? [])].find((dt) => dt.textContent === 'Runway')
            ?.nextElementSibling?.textContent ?? '',
        ]),
      ),
      figures: Object.fromEntries(
        [...document.querySelectorAll('[data-account]')].map((e) => [
          e.dataset.account ?? '',
          e.offsetParent !== null && e.getBoundingClientRect().height > 0
            ? (e.textContent ?? '')
            : '(hidden)',
        ]),
      ),
    };
  })()`;

async function facts(page: Page): Promise<PageFacts> {
  return (await page.evaluate(FACTS_SCRIPT)) as PageFacts;
}

describe('the status page in headless Chromium', () => {
  let fake: FakeDiscord;
  let moonshot: FakeMoonshot;
  let claudeDb: TestDatabase;
  let dir: string;
  let bot: Bot;
  let browser: Browser | null = null;
  // Each test browses in a context of its own: no cookie from another test's visit.
  let context: BrowserContext | null = null;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      // CI installs it (.ci/run); a missing browser is said, not skipped over.
      expect(process.env.CI, `${CHROMIUM} is missing (apt-get install chromium)`).not.toBe('true');
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'cw-page-'));
    fake = await startFakeDiscord({ heartbeatIntervalMs: 500 });
    moonshot = await startFakeMoonshot(moonshotBalance(1234.5, 1000, 234.5));
    claudeDb = await createTestDatabase('cw_page');
    await withClient(claudeDb.connectionString, async (c) => {
      await c.query('CREATE TABLE claude_api_usage (available_balance numeric, updated_at timestamptz)');
      await c.query("INSERT INTO claude_api_usage VALUES (8.07, now() - interval '2 hours')");
    });
    bot = await startBot(
      loadConfig({
        ...botEnv(dir, fake),
        PROVIDERS: 'claude,kimi',
        MOONSHOT_API_KEY: 'sk-page-SECRET',
        MOONSHOT_BASE_URL: moonshot.url,
        MOONSHOT_CURRENCY: 'CNY',
        CLAUDE_DB_URL: claudeDb.connectionString,
        HTTP_PORT: String(await getClosedPort()),
        DASHBOARD_TOKEN: TOKEN,
      }),
      logger,
      { dryRun: false, rest: { retries: 1, timeout: 5000 } },
    );
    // 20 days of Kimi spending ¥40 a day, so the card has a runway and the chart a line; then two rounds.
    const now = Date.now();
    await bot.core.history.import(
      Array.from({ length: 80 }, (_, i) => ({
        provider: 'kimi' as const,
        currency: 'CNY' as const,
        at: new Date(now - (80 - i) * 6 * 3_600_000),
        available: parseAmount(String(2000 - i * 10)),
      })),
    );
    await bot.core.service.checkAll();
    moonshot.setReply(moonshotBalance(1200, 1000, 200));
    await bot.alerts.job.trigger();
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in a container has no user namespace for Chromium's sandbox.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  }, 60_000);

  beforeEach(async () => {
    context = (await browser?.createBrowserContext()) ?? null;
  });

  afterEach(async () => {
    await context?.close();
    context = null;
  });

  afterAll(async () => {
    await browser?.close();
    await bot?.stop(1000);
    await fake?.close();
    await moonshot?.close();
    await claudeDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN DASHBOARD_TOKEN THEN the browser gets 401 without it', async () => {
    if (!context) return;
    const page = await context.newPage();
    const res = await page.goto(`${bot.http!.url}/`);
    expect(res?.status()).toBe(401);
    await page.close();
  });

  it('GIVEN the token once THEN every figure shows, every chart loads, nothing fails, nothing scrolls sideways at 375 px, in light and dark', async () => {
    if (!context) return;
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.setViewport({ width: 375, height: 800 });
    const res = await page.goto(`${bot.http!.url}/?token=${TOKEN}`, { waitUntil: 'networkidle0' });
    expect(res?.status()).toBe(200);
    expect(page.url()).toBe(`${bot.http!.url}/`);

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
      const f = await facts(page);
      expect(f.figures, scheme).toEqual({ claude: '$8.07', kimi: '¥1,200.00' });
      expect(f.runways.kimi, scheme).toMatch(
        /^¥\d+\.\d\d\/day · threshold in \d+ d .*¥0 in \d+ d \(~20\d\d-\d\d-\d\d \d\d:\d\d UTC\)/,
      );
      expect(f.h1).toBe(1);
      expect(f.unlabelledLandmarks).toEqual([]);
      expect(f.horizontalScroll, scheme).toBe(false);
      expect(f.images.map((i) => new URL(i.src).pathname).sort()).toEqual([
        '/chart/cny.png',
        '/chart/usd.png',
      ]);
      for (const img of f.images) expect(img.complete && img.naturalWidth, img.src).toBe(800);
      expect(f.lowContrast, scheme).toEqual([]);
    }
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    const shot = join(dir, 'status-page.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, README_SCREENSHOT);
    expect(existsSync(shot)).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
