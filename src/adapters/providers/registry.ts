import { ANTHROPIC_MODULE } from './anthropic.js';
import { CLAUDE_MODULE } from './claude.js';
import { DEEPSEEK_MODULE } from './deepseek.js';
import { KIMI_MODULE } from './kimi.js';
import type { ProviderModule } from './module.js';
import { NOVITA_MODULE } from './novita.js';
import { OPENAI_MODULE } from './openai.js';
import { OPENROUTER_MODULE } from './openrouter.js';
import { SILICONFLOW_MODULE } from './siliconflow.js';
import { STEPFUN_MODULE } from './stepfun.js';

/**
 * Every provider creditwatch can watch, one line each; the order is the order of lines in every summary.
 * Adding a provider: its module file, its line here, its README row and its contract-suite instance.
 */
// Each module's settings type is its own; a module's settings only ever flow back into the same module's
// `currency` and `create`, so the list holds them with the type erased.
export const PROVIDER_MODULES = [
  CLAUDE_MODULE,
  KIMI_MODULE,
  DEEPSEEK_MODULE,
  OPENROUTER_MODULE,
  SILICONFLOW_MODULE,
  NOVITA_MODULE,
  STEPFUN_MODULE,
  OPENAI_MODULE,
  ANTHROPIC_MODULE,
] as unknown as readonly ProviderModule<unknown>[];

/** The module of `id`, or `undefined` for an id no module declares. */
export function providerModule(id: string): ProviderModule<unknown> | undefined {
  return PROVIDER_MODULES.find((m) => m.id === id);
}
