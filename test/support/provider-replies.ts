/**
 * The replies the providers document (issue 12's table and each provider's API reference), replayed by the
 * local fake servers. Figures are chosen so that a float anywhere on the way would show.
 */

export const DEEPSEEK_BALANCE = {
  is_available: true,
  balance_infos: [
    { currency: 'CNY', total_balance: '110.07', granted_balance: '10.00', topped_up_balance: '100.07' },
  ],
};
/** A `USD "0.00"` row listed before the funded CNY row: the CNY funds are the balance. */
export const DEEPSEEK_ZERO_USD_BESIDE_CNY = {
  is_available: true,
  balance_infos: [
    { currency: 'USD', total_balance: '0.00', granted_balance: '0.00', topped_up_balance: '0.00' },
    { currency: 'CNY', total_balance: '88.30', granted_balance: '0.30', topped_up_balance: '88.00' },
  ],
};
export const DEEPSEEK_ERROR = {
  error: {
    message: 'Authentication Fails, Your api key: ****9c is invalid',
    type: 'authentication_error',
    param: null,
    code: 'invalid_request_error',
  },
};

export const OPENROUTER_CREDITS = { data: { total_credits: 100.1, total_usage: 25.3 } };
export const OPENROUTER_KEY_WITH_LIMIT = {
  data: { label: 'sk-or-v1-abc…def', limit: 20, limit_remaining: 12.35, usage: 7.65, is_free_tier: false },
};
export const OPENROUTER_KEY_WITHOUT_LIMIT = {
  data: { label: 'sk-or-v1-abc…def', limit: null, limit_remaining: null, usage: 7.65, is_free_tier: false },
};
export const openRouterError = (code: number, message: string) => ({ error: { code, message } });

export const SILICONFLOW_INFO = {
  code: 20000,
  message: 'OK',
  status: true,
  data: {
    id: 'user-1',
    name: 'team',
    image: '',
    email: 'team@example.com',
    isAdmin: false,
    balance: '0.88',
    status: 'normal',
    introduction: '',
    role: '',
    chargeBalance: '88.00',
    totalBalance: '88.88',
  },
};
export const siliconFlowError = (code: number, message: string) => ({
  code,
  message,
  status: false,
  data: null,
});

/** 1/10,000 USD units: `"1234500"` is $123.45. */
export const NOVITA_BALANCE = {
  availableBalance: '1234500',
  cashBalance: '1000000',
  creditLimit: '234500',
  pendingCharges: '1500',
  outstandingInvoices: '0',
};
export const NOVITA_ERROR = {
  code: 401,
  reason: 'INVALID_API_KEY',
  message: 'invalid api key',
  metadata: {},
};

export const STEPFUN_ACCOUNT = {
  object: 'account',
  type: 'prepaid',
  balance: 100.3,
  total_cash_balance: 80.1,
  total_voucher_balance: 20.2,
};
export const STEPFUN_ERROR = { error: { message: 'Incorrect API key provided', type: 'invalid_api_key' } };

export const MOONSHOT_ERROR = {
  error: { message: 'Invalid Authentication', type: 'invalid_authentication_error' },
};
