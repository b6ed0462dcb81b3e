/**
 * `npm run claude:record -- 8.07` — writes a manual Claude balance reading into `claude_api_usage`
 * (creating the table when absent), for teams without a scrape job.
 */
import { claudeConnection } from '../src/app.js';
import { configOrExplain, runCli } from '../src/cli.js';
import { formatMoney, parseAmount } from '../src/money.js';
import { recordClaudeBalance } from '../src/providers/claude.js';

async function main(): Promise<number> {
  const raw = process.argv[2];
  if (raw === undefined || process.argv.length > 3 || !/^\d{1,7}(\.\d{1,4})?$/.test(raw.trim())) {
    console.error('usage: npm run claude:record -- <amount>   e.g. npm run claude:record -- 8.07');
    return 1;
  }
  // Only the Claude table's settings matter here, whatever PROVIDERS says.
  const config = configOrExplain({ overrides: { PROVIDERS: 'claude' } });
  if (config === null) return 1;
  const db = config.claudeDb!;
  const amount = parseAmount(raw);
  await recordClaudeBalance({ ...claudeConnection(db), timeoutMs: config.providerTimeoutMs }, amount);
  console.log(`Recorded Claude balance ${formatMoney(amount, 'USD')} in claude_api_usage on ${db.describe}`);
  return 0;
}

runCli(main, 'could not record the balance');
