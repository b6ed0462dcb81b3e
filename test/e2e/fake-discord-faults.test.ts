import { DiscordAPIError, REST, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from '../support/fake-discord.js';

const MESSAGES_PATH = /^\/channels\/\d+\/messages$/;

describe('the fake Discord models what the slot tests rely on', () => {
  let fake: FakeDiscord;
  let rest: REST;
  beforeAll(async () => {
    fake = await startFakeDiscord();
    rest = new REST({ api: fake.apiUrl, retries: 0, timeout: 1000 }).setToken(fake.token);
  });
  afterAll(async () => {
    await fake?.close();
  });
  const create = (body: Record<string, unknown>) =>
    rest.post(Routes.channelMessages(fake.channelId), { body }) as Promise<{ id: string; nonce?: unknown }>;

  it('GIVEN enforce_nonce THEN a repeated nonce returns the first message and creates none; without it, a second message', async () => {
    const before = fake.messages.length;
    const first = await create({ content: 'one', nonce: 'cw-sum-abc-0', enforce_nonce: true });
    const again = await create({ content: 'one, retried', nonce: 'cw-sum-abc-0', enforce_nonce: true });
    expect(again.id).toBe(first.id);
    expect(first.nonce).toBe('cw-sum-abc-0');
    expect(fake.messages.length).toBe(before + 1);
    await create({ content: 'two', nonce: 'cw-sum-abc-0' });
    expect(fake.messages.length).toBe(before + 2);
  });

  it('GIVEN a nonce over 25 characters or content over 2,000 THEN 400 with 50035, like Discord', async () => {
    const refused = async (body: Record<string, unknown>) => {
      const err = await create(body).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DiscordAPIError);
      expect((err as DiscordAPIError).status).toBe(400);
      expect((err as DiscordAPIError).code).toBe(50035);
    };
    await refused({ content: 'x', nonce: 'n'.repeat(26) });
    await refused({ content: 'x'.repeat(2001) });
    await create({ content: 'x'.repeat(2000), nonce: 'n'.repeat(25) });
  });

  it('GIVEN failFor THEN matching requests fail for that long, then pass', async () => {
    fake.failFor({ method: 'POST', pathPattern: MESSAGES_PATH }, { status: 502 }, 400);
    const err = await create({ content: 'during' }).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(502);
    await new Promise((r) => setTimeout(r, 500));
    await expect(create({ content: 'after' })).resolves.toHaveProperty('id');
  });

  it('GIVEN respondAfterMs beyond the client timeout THEN the message is stored though the client saw a timeout', async () => {
    fake.failNext({ method: 'POST', pathPattern: MESSAGES_PATH }, [{ respondAfterMs: 1500 }]);
    const before = fake.messages.length;
    const err = await create({ content: 'slow', nonce: 'slow-1', enforce_nonce: true }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).name).toBe('AbortError');
    expect(fake.messages.slice(before).map((m) => m.content)).toEqual(['slow']);
    const retried = await create({ content: 'slow', nonce: 'slow-1', enforce_nonce: true });
    expect(retried.id).toBe(fake.messages.at(-1)!.id);
    expect(fake.messages.length).toBe(before + 1);
  });
});
