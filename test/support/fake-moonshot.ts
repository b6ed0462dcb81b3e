import { type FakeApi, type FakeReply, startFakeApi } from './fake-api.js';

export { type FakeReply, getClosedPort, type RecordedRequest } from './fake-api.js';

/** A running fake Moonshot API (the generic fake of test/support/fake-api.ts). */
export type FakeMoonshot = FakeApi;

/** Moonshot's documented success body, with these numbers. */
function balanceBody(available: number, voucher: number, cash: number) {
  return {
    code: 0,
    data: { available_balance: available, voucher_balance: voucher, cash_balance: cash },
    scode: '0x0',
    status: true,
  };
}

/** Moonshot's documented success reply. */
export const MOONSHOT_OK_BODY = balanceBody(49.58894, 46.58893, 3.00001);

/** A success reply reporting this balance (`available` = `voucher` + `cash` is not checked). */
export function moonshotBalance(available: number, voucher: number, cash: number): FakeReply {
  return { json: balanceBody(available, voucher, cash) };
}

/** Starts a fake Moonshot API on 127.0.0.1 (ephemeral port); every request gets the current reply. */
export function startFakeMoonshot(initial: FakeReply = { json: MOONSHOT_OK_BODY }): Promise<FakeMoonshot> {
  return startFakeApi(initial);
}
