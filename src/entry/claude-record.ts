/**
 * `npm run claude:record -- 8.07` — writes a manual Claude balance reading into `claude_api_usage`
 * (creating the table when absent), for teams without a scrape job.
 */

import { recordClaudeBalance } from '../adapters/providers/claude.js';
import { Big, formatMoney, parseAmount, parseTypedAmount } from '../core/money.js';
import { claudeConnection } from './app.js';
import { configOrExplain, runCli } from './cli.js';

const USAGE = 'usage: npm run claude:record -- <amount>   e.g. npm run claude:record -- 8.07';

/** The largest balance claude:record takes (well within the table's numeric(12,4)). */
const MOST = new Big('9999999.9999');

/** Why `args` is not one amount the table takes (0 to 9,999,999.9999, plain digits), or `null`. */
function amountProblem(args: readonly string[]): string | null {
  const raw = args[0]?.trim();
  if (raw === undefined || raw === '') return 'no amount given';
  if (args.length > 1) return `one amount expected, got ${args.length} arguments`;
  const parsed = parseTypedAmount(raw, { maxDecimals: 4, max: MOST });
  if (parsed.ok) return null;
  const shown = JSON.stringify(raw);
  switch (parsed.problem.kind) {
    case 'negative':
      return `${shown} is negative; a balance is 0 or more`;
    case 'symbol':
      return `${shown}: give the number alone, without a currency sign`;
    case 'decimals':
      return `${shown} has more than 4 decimals`;
    case 'comma':
      return `${shown}: use a dot for decimals, e.g. 8.07`;
    case 'too-large':
      return `${shown} is too large (at most 9999999.9999)`;
    default:
      return `${shown} is not a plain number such as 8.07`;
  }
}

async function main(args: readonly string[]): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(USAGE);
    return 0;
  }
  const problem = amountProblem(args);
  if (problem !== null) {
    console.error(`creditwatch: ${problem}\n${USAGE}`);
    return 1;
  }
  // Only the Claude table's settings matter here, whatever PROVIDERS says.
  const config = configOrExplain({
    needs: { providers: ['claude'], because: () => 'claude:record writes to that database' },
  });
  if (config === null) return 1;
  const db = config.claudeDb!;
  const amount = parseAmount(args[0]!.trim());
  await recordClaudeBalance({ ...claudeConnection(db), timeoutMs: config.providerTimeoutMs }, amount);
  console.log(`Recorded Claude balance ${formatMoney(amount, 'USD')} in claude_api_usage on ${db.describe}`);
  return 0;
}

runCli(() => main(process.argv.slice(2)), 'could not record the balance');
