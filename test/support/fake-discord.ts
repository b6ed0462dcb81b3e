/**
 * A fake Discord for end-to-end tests: a real HTTP server (REST API v10) and a real WebSocket gateway on
 * 127.0.0.1, port 0, that the unmodified discord.js `Client` and `@discordjs/rest` `REST` talk to.
 *
 * Point the client at it with `new Client({ intents, rest: { api: fake.apiUrl } })` and
 * `client.login(fake.token)`; point a bare REST at it with `new REST({ api: fake.apiUrl }).setToken(fake.token)`.
 *
 * What it models (and checks, the way Discord does):
 * - Gateway v10, JSON encoding, plain text frames (compression is ignored: discord.js parses text frames as JSON
 *   even when it asked for zlib-stream). HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay of
 *   missed dispatches, sessions invalidated when the client closes with 1000/1001, close codes 4002/4003/4004/4005/4014.
 * - REST: bot-token auth (401), per-route rate-limit headers, channel messages (JSON and multipart with files),
 *   interaction callbacks with the 3 s deadline (10062) and double-acknowledge (40060), webhook edits/follow-ups,
 *   command registration with Discord's validation (50035), message validation (empty 50006, lengths 50035,
 *   permissions 50001/50013), unknown routes 404.
 * - Message nonces: `nonce` is an integer or a string of at most 25 characters (else 50035); with
 *   `enforce_nonce: true`, a create repeating a nonce of the last {@link FakeDiscordOptions.nonceWindowMs} in the
 *   same channel returns the message it created then, and creates nothing (Discord: "the past few minutes").
 * - Fault injection: {@link FakeDiscord.failNext} (500s, 429s with proper headers, delays, a create that is
 *   stored at once but answered late) and {@link FakeDiscord.failFor} (every matching request fails for a while).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

/** A JSON object as parsed from a request or built for a payload. */
export type JsonObject = Record<string, unknown>;

/** Discord permission bits used by the fake (same values as discord.js `PermissionFlagsBits`). */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  ChangeNickname: 1n << 26n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** Every permission (what owners and Administrator holders get). */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

/** Default ids of the fake world; every one can be overridden through {@link FakeDiscordOptions}. */
export const FAKE_DEFAULTS = {
  applicationId: '1415738925486018650',
  guildId: '1415740212306436137',
  categoryId: '1415741789758816368',
  channelId: '1415741789758816369',
  ownerId: '238774931425394688',
  botRoleId: '1415742005380100101',
  adminRoleId: '1415742005380100102',
  memberRoleId: '1415742005380100103',
  userId: '412349985117863937',
} as const;

/** A user as configured for the fake (bot or human). */
export interface FakeUserInput {
  readonly id: string;
  readonly username: string;
  readonly globalName?: string | null;
}

/** An extra guild role. */
export interface FakeRoleInput {
  readonly id: string;
  readonly name: string;
  /** Bitfield, e.g. `Permission.ManageGuild` or `'32'`. */
  readonly permissions: bigint | string;
  readonly position?: number;
  readonly color?: number;
}

/** A channel permission overwrite (type 0 = role, 1 = member). */
export interface FakeOverwriteInput {
  readonly id: string;
  readonly type: 0 | 1;
  readonly allow?: bigint | string;
  readonly deny?: bigint | string;
}

/** A guild channel. Type 0 = text (default), 2 = voice, 4 = category, 5 = announcement. */
export interface FakeChannelInput {
  readonly id: string;
  readonly name: string;
  readonly type?: 0 | 2 | 4 | 5;
  readonly parentId?: string | null;
  readonly topic?: string | null;
  readonly permissionOverwrites?: readonly FakeOverwriteInput[];
}

/** The one guild the bot is in. */
export interface FakeGuildOptions {
  readonly id?: string;
  readonly name?: string;
  readonly ownerId?: string;
  /** Permissions of @everyone (role id = guild id). Default: view/send/embed/attach/history/commands etc. */
  readonly everyonePermissions?: bigint | string;
  /** Permissions of the bot's managed role. Default: view/send/embed/attach/history/commands/reactions/emojis. */
  readonly botPermissions?: bigint | string;
  /**
   * Roles besides @everyone and the bot's managed role. Default: `Finance Admin` (ManageGuild,
   * id {@link FAKE_DEFAULTS.adminRoleId}) and `Member` (no extra permissions, id {@link FAKE_DEFAULTS.memberRoleId}).
   */
  readonly roles?: readonly FakeRoleInput[];
  /**
   * Channels. Default: a category plus one text channel `#llm-credits` with id {@link FAKE_DEFAULTS.channelId}.
   * The first text channel is `fake.channelId`.
   */
  readonly channels?: readonly FakeChannelInput[];
}

/** Options for {@link startFakeDiscord}. */
export interface FakeDiscordOptions {
  /** Bot token the fake accepts. Default: a random token shaped like a real one. */
  readonly token?: string;
  /** Application id, also the bot user's id (as for every modern Discord app). */
  readonly applicationId?: string;
  readonly applicationName?: string;
  readonly botUsername?: string;
  /** Application flags sent in READY and GET /applications/@me. Default 0. */
  readonly applicationFlags?: number;
  readonly guild?: FakeGuildOptions;
  /** HELLO heartbeat_interval in ms. Default 41250 (Discord's). */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long after dispatch an interaction may still be acknowledged; later callbacks get Discord's
   * 404 `10062 Unknown interaction`. Default 3000. `null` disables the check.
   */
  readonly interactionDeadlineMs?: number | null;
  /** Privileged intents enabled for the app (bitfield of 1<<1, 1<<8, 1<<15). Others → close 4014. Default 0. */
  readonly privilegedIntents?: number;
  /**
   * How long a message nonce is remembered for `enforce_nonce`. Discord documents only "the past few
   * minutes"; default 120000 (2 minutes), so tests that rely on it stay well inside the real window.
   */
  readonly nonceWindowMs?: number;
}

/** One HTTP request the fake received, in arrival order. */
export interface RecordedRequest {
  readonly method: string;
  /** Route path after `/api/v10`, without query string, e.g. `/channels/1/messages`. Full pathname otherwise. */
  readonly path: string;
  /** Raw query string without `?` (may be empty). */
  readonly query: string;
  /** `Date.now()` when the request arrived. */
  readonly time: number;
  /** `Date.now()` when the response was sent (0 while pending). */
  respondedAt: number;
  /** HTTP status sent (0 while pending). */
  status: number;
  /** Name of the matched route, e.g. `POST /channels/:id/messages`; `null` for unknown routes. */
  route: string | null;
  /** True when {@link FakeDiscord.failNext} answered (or delayed) this request. */
  injected: boolean;
  /** Whether a valid `Authorization: Bot <token>` header was present. */
  readonly authorized: boolean;
  /** Parsed JSON body, or the parsed `payload_json` of a multipart body, else `null`. */
  body: unknown;
  /** Files of a multipart body. */
  files: readonly RecordedFile[];
}

/** A file uploaded in a multipart body. */
export interface RecordedFile {
  /** Form field name, e.g. `files[0]`. */
  readonly field: string;
  readonly name: string;
  readonly contentType: string;
  readonly data: Buffer;
  readonly size: number;
}

/** A message the bot created or edited through POST/PATCH /channels/:id/messages[/:id]. */
export interface RecordedMessage {
  readonly kind: 'create' | 'edit';
  /** Id of the created (or edited) message. */
  readonly id: string;
  readonly channelId: string;
  readonly content: string | null;
  readonly embeds: readonly JsonObject[];
  /** The raw `allowed_mentions` of the request, or `null` if absent. */
  readonly allowedMentions: JsonObject | null;
  readonly components: readonly unknown[];
  readonly flags: number;
  /** The request's `attachments` metadata (`[{ id: '0', description? }]`). */
  readonly attachments: readonly JsonObject[];
  readonly files: readonly RecordedFile[];
  /** The whole JSON payload. */
  readonly body: JsonObject;
  readonly receivedAt: number;
  /** The message object the fake answered with. */
  readonly response: JsonObject;
}

/** The first interaction callback (POST /interactions/:id/:token/callback). */
export interface RecordedCallback {
  /** Interaction response type: 4 reply, 5 deferred reply, 6 deferred update, 7 update, 8 autocomplete, 9 modal. */
  readonly type: number;
  readonly data: JsonObject | null;
  readonly content: string | null;
  readonly flags: number;
  readonly ephemeral: boolean;
  /** `data.choices` for autocomplete results (type 8). */
  readonly choices: readonly JsonObject[] | null;
  readonly files: readonly RecordedFile[];
  readonly body: JsonObject;
  readonly receivedAt: number;
  /** What the fake answered: 204 (or 200 with `with_response=true`), 404 if past the deadline, 400 if invalid. */
  readonly status: number;
}

/** A visible reply: callback data (type 4), an edit of @original, or a follow-up. */
export interface RecordedReply {
  readonly source: 'callback' | 'edit' | 'followup';
  readonly messageId: string;
  readonly content: string | null;
  readonly embeds: readonly JsonObject[];
  readonly components: readonly unknown[];
  readonly flags: number;
  readonly ephemeral: boolean;
  readonly allowedMentions: JsonObject | null;
  readonly attachments: readonly JsonObject[];
  readonly files: readonly RecordedFile[];
  readonly body: JsonObject;
  readonly receivedAt: number;
}

/** A command registration (PUT of the whole command list). */
export interface RecordedRegistration {
  readonly scope: 'global' | 'guild';
  readonly guildId: string | null;
  readonly body: unknown;
  readonly receivedAt: number;
  /** 200, or 400 when Discord's validation rejected the body. */
  readonly status: number;
}

/** A registered application command as the fake stores and returns it. */
export type RegisteredCommand = JsonObject & { readonly id: string; readonly name: string };

/** A command option as sent in `data.options` (see {@link stringOption} and friends). */
export interface CommandOptionInput {
  readonly name: string;
  /** 1 subcommand, 2 group, 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 9 mentionable, 10 number. */
  readonly type: number;
  readonly value?: string | number | boolean;
  readonly options?: readonly CommandOptionInput[];
  readonly focused?: boolean;
}

/** Options for {@link FakeDiscord.sendCommand}. */
export interface SendCommandOptions {
  /** Command name, e.g. `credits`. */
  readonly name: string;
  /** `data.options`, e.g. `[subcommand('balance', [stringOption('account', 'moonshot')])]`. */
  readonly options?: readonly CommandOptionInput[];
  /** `command` (type 2, default) or `autocomplete` (type 4; mark the focused option with `focused: true`). */
  readonly kind?: 'command' | 'autocomplete';
  /** Application command type: 1 chat input (default), 2 user, 3 message. */
  readonly commandType?: 1 | 2 | 3;
  /** `data.id`; default: the id of the registered command with that name, else a stable made-up id. */
  readonly commandId?: string;
  /** The invoking user. Default `{ id: FAKE_DEFAULTS.userId, username: 'ana.finance' }`. */
  readonly user?: FakeUserInput;
  /** Role ids of the invoking member (besides @everyone). Default `[]`. */
  readonly roles?: readonly string[];
  /**
   * `member.permissions` (the member's permissions in the channel). Default: computed from @everyone, `roles`
   * and the channel's overwrites, like Discord does. Use e.g. `Permission.ManageGuild` for an admin.
   */
  readonly permissions?: bigint | string;
  /** Guild of the interaction; default the fake's guild; `null` for a DM with the bot. */
  readonly guildId?: string | null;
  /** Channel; default `fake.channelId` (guild) or a DM channel. */
  readonly channelId?: string;
  /** User locale. Default `en-US`. */
  readonly locale?: string;
  /** `data.resolved` for user/role/channel/attachment options. */
  readonly resolved?: JsonObject;
}

/**
 * Options for {@link FakeDiscord.clickButton}: a member clicking a button on a message the bot posted
 * (INTERACTION_CREATE of type 3, MESSAGE_COMPONENT, with `data: { custom_id, component_type: 2 }` and the
 * `message` the button is on, as Discord documents it). The user, roles and permissions work as in
 * {@link SendCommandOptions}.
 */
export interface ClickButtonOptions
  extends Pick<SendCommandOptions, 'user' | 'roles' | 'permissions' | 'locale'> {
  /** The id of a message the bot created (see {@link FakeDiscord.messages}). */
  readonly messageId: string;
  /** The button's `custom_id`; any string may be sent (a crafted one, one no button carries). */
  readonly customId: string;
}

/** What {@link FakeDiscord.sendCommand} returns: the interaction plus promises for its responses. */
export interface InteractionHandle {
  readonly id: string;
  readonly token: string;
  /** The INTERACTION_CREATE `d` payload as dispatched. */
  readonly payload: JsonObject;
  /** `Date.now()` when the interaction was dispatched (Discord's 3 s deadline starts here). */
  readonly arrivedAt: number;
  /** Resolves with the first callback POST (even a rejected one: check `status`). Default timeout 5000 ms. */
  callback(timeoutMs?: number): Promise<RecordedCallback>;
  /**
   * Resolves with the final visible reply: the callback data for a type 4/7/8/9 callback, or, after a deferral
   * (type 5/6), the first PATCH of @original or the first follow-up (which Discord turns into the reply).
   * Rejects if the callback was refused (e.g. too late). Default timeout 10000 ms.
   */
  final(timeoutMs?: number): Promise<RecordedReply>;
  /** Resolves with follow-up number `index` (0-based, default 0). Default timeout 10000 ms. */
  followUp(index?: number, timeoutMs?: number): Promise<RecordedReply>;
  /** Every PATCH of @original or of a follow-up, in order. */
  readonly edits: readonly RecordedReply[];
  /** Every follow-up POST /webhooks/:appId/:token, in order. */
  readonly followUps: readonly RecordedReply[];
}

/** Matches requests for {@link FakeDiscord.failNext}. */
export interface RequestMatcher {
  /** HTTP method (case-insensitive); any if omitted. */
  readonly method?: string;
  /** Tested against {@link RecordedRequest.path}, e.g. `/\/channels\/\d+\/messages$/`. */
  readonly pathPattern: RegExp;
}

/** An injected error status: a 4xx/5xx, or a 429 with its wait. */
export type InjectedStatus =
  | { readonly status: 500 | 502 | 503 | 504 | 400 | 401 | 403 | 404; readonly body?: unknown }
  | {
      readonly status: 429;
      /** Seconds, may be fractional; sent as `Retry-After`, `X-RateLimit-Reset-After` and `retry_after`. */
      readonly retryAfter: number;
      readonly global?: boolean;
    };

/** One injected response for {@link FakeDiscord.failNext}. */
export type InjectedResponse =
  | InjectedStatus
  | {
      /** Hold the request this long, then handle it normally (longer than the REST `timeout` → client abort). */
      readonly delayMs: number;
    }
  | {
      /**
       * Handle the request at once (a message create is stored and dispatched), then hold the answer this long:
       * Discord doing the work but answering after the client's timeout. A client that gave up gets nothing.
       */
      readonly respondAfterMs: number;
    };

/** A custom route handler's result. */
export interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a custom route handler receives. */
export interface RouteContext {
  readonly method: string;
  readonly path: string;
  /** Capture groups of the route pattern. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  readonly files: readonly RecordedFile[];
}

/** A custom route handler. */
export type RouteHandler = (ctx: RouteContext) => RouteResult | Promise<RouteResult>;

/** A WebSocket connection to the fake gateway. */
export interface GatewayConnectionRecord {
  /** Path used, `/` for the gateway URL, `/resume` for `resume_gateway_url`. */
  readonly path: string;
  readonly query: string;
  readonly openedAt: number;
  closedAt: number | null;
  closeCode: number | null;
  /** Who closed it. */
  closedBy: 'server' | 'client' | null;
}

/** Gateway state and counters. */
export interface FakeGateway {
  /** URL returned by GET /gateway/bot (`ws://127.0.0.1:PORT`). */
  readonly url: string;
  readonly identifyCount: number;
  readonly resumeCount: number;
  readonly heartbeatCount: number;
  /** WebSocket connections ever opened. */
  readonly connections: readonly GatewayConnectionRecord[];
  /** IDENTIFY `d` payloads received. */
  readonly identifies: readonly JsonObject[];
  /** Every payload the clients sent, in order. */
  readonly received: readonly JsonObject[];
  /** Currently open sockets. */
  readonly openSockets: number;
  /** Session id of the most recent READY, or `null`. */
  readonly sessionId: string | null;
  /** Whether heartbeats are ACKed (set `false` to simulate a zombie connection). */
  ackHeartbeats: boolean;
}

/** A running fake Discord. */
export interface FakeDiscord {
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** `http://127.0.0.1:PORT/api`: the `api` option for discord.js `rest` / `new REST()`. */
  readonly apiUrl: string;
  readonly token: string;
  readonly applicationId: string;
  /** The bot user (id = application id). */
  readonly botUser: JsonObject;
  readonly guildId: string;
  /** First text channel of the guild. */
  readonly channelId: string;
  /** Role ids: @everyone (= guild id), the bot's managed role, and the extra roles by name. */
  readonly roleIds: { readonly everyone: string; readonly bot: string; readonly [name: string]: string };
  readonly gateway: FakeGateway;
  /** All HTTP requests, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Channel messages created/edited by the bot. */
  readonly messages: readonly RecordedMessage[];
  /** Command registrations (PUT), in order. */
  readonly registrations: readonly RecordedRegistration[];
  /** Interactions sent with {@link sendCommand}. */
  readonly interactions: readonly InteractionHandle[];
  /** Currently registered commands. */
  commands(scope: 'global' | { readonly guildId: string }): readonly RegisteredCommand[];
  /** Sends a dispatch (op 0) to every gateway session (buffered for replay if the session is disconnected). */
  dispatch(t: string, d: unknown): number;
  /**
   * Closes the open gateway sockets from the server side: with close `code` (default 4000, which discord.js
   * resumes after), or `'terminate'` to cut the TCP connection (1006, also resumed). Resolves when closed.
   */
  dropGatewayConnection(code?: number | 'terminate'): Promise<void>;
  /** Dispatches an INTERACTION_CREATE for a slash command (or autocomplete) and returns its handle. */
  sendCommand(options: SendCommandOptions): InteractionHandle;
  /**
   * Dispatches an INTERACTION_CREATE for a button click (type 3) on a message the bot created. Discord allows
   * the callback types 4, 5, 6 (deferred update) and 7 (update the message: recorded as an `edit` of that
   * channel message in {@link FakeDiscord.messages}) and 9.
   */
  clickButton(options: ClickButtonOptions): InteractionHandle;
  /** The current state of a channel message the bot created (after edits and button updates). */
  channelMessage(messageId: string): JsonObject | null;
  /** The next requests matching `matcher` get `responses`, one each, in order (queued after earlier ones). */
  failNext(matcher: RequestMatcher, responses: readonly InjectedResponse[]): void;
  /**
   * For the next `durationMs`, every request matching `matcher` gets `response` (a 5xx burst, a rate limit
   * that keeps coming back). Checked before {@link failNext}'s queue.
   */
  failFor(matcher: RequestMatcher, response: InjectedStatus, durationMs: number): void;
  /** Adds a route (tried before the built-in ones); `pathPattern` is matched against the path after `/api/v10`. */
  addRoute(
    method: string,
    pathPattern: RegExp,
    handler: RouteHandler,
    options?: { readonly auth?: boolean },
  ): void;
  /** Resolves with the first recorded message (past or future) matching `predicate`. Default timeout 5000 ms. */
  waitForMessage(predicate?: (m: RecordedMessage) => boolean, timeoutMs?: number): Promise<RecordedMessage>;
  /** Resolves with the first finished request (past or future) matching `predicate`. Default timeout 5000 ms. */
  waitForRequest(predicate: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /**
   * Resolves with the first value of `probe` that is not `null`/`undefined`/`false`, re-evaluated whenever the
   * fake's state changes (requests, messages, gateway events) and every 20 ms (so it may probe client state too).
   * Rejects after `timeoutMs` (default 5000) with `label` in the message, or when the probe throws.
   */
  waitFor<T>(probe: () => T | null | undefined | false, timeoutMs?: number, label?: string): Promise<T>;
  /** Requests that hit no route (404 Unknown) — handy for `expect(fake.unknownRequests()).toEqual([])`. */
  unknownRequests(): readonly RecordedRequest[];
  /** Closes sockets and servers. Destroy your discord.js clients first, or they will keep reconnecting. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Option helpers
// ---------------------------------------------------------------------------------------------------------------

/** A string option (type 3). */
export function stringOption(name: string, value: string, focused?: boolean): CommandOptionInput {
  return focused === undefined ? { name, type: 3, value } : { name, type: 3, value, focused };
}

/** An integer option (type 4). */
export function integerOption(name: string, value: number, focused?: boolean): CommandOptionInput {
  return focused === undefined ? { name, type: 4, value } : { name, type: 4, value, focused };
}

/** A number option (type 10). */
export function numberOption(name: string, value: number, focused?: boolean): CommandOptionInput {
  return focused === undefined ? { name, type: 10, value } : { name, type: 10, value, focused };
}

/** A boolean option (type 5). */
export function booleanOption(name: string, value: boolean): CommandOptionInput {
  return { name, type: 5, value };
}

/** A subcommand (type 1) with its options. */
export function subcommand(name: string, options: readonly CommandOptionInput[] = []): CommandOptionInput {
  return { name, type: 1, options };
}

/** A subcommand group (type 2). */
export function subcommandGroup(
  name: string,
  subcommands: readonly CommandOptionInput[],
): CommandOptionInput {
  return { name, type: 2, options: subcommands };
}

// ---------------------------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------------------------

const DISCORD_EPOCH = 1420070400000n;
let snowflakeIncrement = 0n;

/** A Discord-shaped snowflake for the current time. */
function snowflake(): string {
  snowflakeIncrement = (snowflakeIncrement + 1n) & 0xfffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (1n << 17n) | snowflakeIncrement).toString();
}

const DEFAULT_EVERYONE =
  Permission.CreateInstantInvite |
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.Connect |
  Permission.Speak |
  Permission.ChangeNickname |
  Permission.UseApplicationCommands |
  Permission.SendMessagesInThreads;

const DEFAULT_BOT =
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.UseApplicationCommands;

/** What Discord reports as app_permissions in a DM with the bot. */
const DM_APP_PERMISSIONS =
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.MentionEveryone |
  Permission.UseExternalEmojis;

const INTENT_GUILDS = 1 << 0;
const INTENT_GUILD_MESSAGES = 1 << 9;
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const EPHEMERAL = 64;
const LOADING = 128;

interface ApiError {
  readonly status: number;
  readonly body: JsonObject;
}

function apiError(status: number, message: string, code: number): ApiError {
  return { status, body: { message, code } };
}

function formError(path: readonly (string | number)[], code: string, message: string): ApiError {
  let errors: JsonObject = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors } };
}

function toBigInt(value: bigint | string | undefined, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  return typeof value === 'bigint' ? value : BigInt(value);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObjectArray(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function strOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function userObject(user: FakeUserInput, bot: boolean): JsonObject {
  return {
    id: user.id,
    username: user.username,
    global_name: user.globalName ?? null,
    discriminator: '0',
    avatar: null,
    avatar_decoration_data: null,
    banner: null,
    accent_color: null,
    public_flags: 0,
    flags: 0,
    collectibles: null,
    primary_guild: null,
    ...(bot ? { bot: true } : {}),
  };
}

/** Width/height of a PNG (from its IHDR chunk), for attachment objects. */
function pngSize(data: Buffer): { width: number; height: number } | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (data.length < 24 || !data.subarray(0, 8).equals(signature)) return null;
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

interface RoleState {
  readonly id: string;
  readonly name: string;
  readonly permissions: bigint;
  readonly position: number;
  readonly color: number;
  readonly managed: boolean;
  readonly botId: string | null;
}

interface OverwriteState {
  readonly id: string;
  readonly type: 0 | 1;
  readonly allow: bigint;
  readonly deny: bigint;
}

interface ChannelState {
  readonly id: string;
  readonly name: string;
  readonly type: 0 | 1 | 2 | 4 | 5;
  readonly parentId: string | null;
  readonly topic: string | null;
  readonly position: number;
  readonly overwrites: readonly OverwriteState[];
  readonly guildId: string | null;
  /** DM recipient. */
  readonly recipient: JsonObject | null;
  lastMessageId: string | null;
}

/** A DM channel with `recipient`, as Discord creates one on first contact. */
function newDmChannel(recipient: JsonObject, id: string = snowflake()): ChannelState {
  return {
    id,
    name: '',
    type: 1,
    parentId: null,
    topic: null,
    position: 0,
    overwrites: [],
    guildId: null,
    recipient,
    lastMessageId: null,
  };
}

interface GuildState {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly roles: readonly RoleState[];
  readonly channels: readonly ChannelState[];
  readonly joinedAt: string;
}

function computePermissions(
  guild: GuildState,
  userId: string,
  roleIds: readonly string[],
  channel: ChannelState | null,
): bigint {
  if (userId === guild.ownerId) return ALL_PERMISSIONS;
  let base = 0n;
  for (const role of guild.roles)
    if (role.id === guild.id || roleIds.includes(role.id)) base |= role.permissions;
  if ((base & Permission.Administrator) !== 0n) return ALL_PERMISSIONS;
  if (!channel) return base;
  const everyone = channel.overwrites.find((o) => o.id === guild.id);
  if (everyone) base = (base & ~everyone.deny) | everyone.allow;
  let allow = 0n;
  let deny = 0n;
  for (const o of channel.overwrites) {
    if (o.type === 0 && o.id !== guild.id && roleIds.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  base = (base & ~deny) | allow;
  const member = channel.overwrites.find((o) => o.type === 1 && o.id === userId);
  if (member) base = (base & ~member.deny) | member.allow;
  if ((base & Permission.ViewChannel) === 0n) return 0n;
  return base;
}

function roleObject(role: RoleState): JsonObject {
  return {
    id: role.id,
    name: role.name,
    color: role.color,
    colors: { primary_color: role.color, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.managed,
    mentionable: false,
    flags: 0,
    ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
  };
}

function channelObject(channel: ChannelState, withGuildId: boolean): JsonObject {
  if (channel.type === 1) {
    return {
      id: channel.id,
      type: 1,
      flags: 0,
      last_message_id: channel.lastMessageId,
      recipients: channel.recipient ? [channel.recipient] : [],
    };
  }
  const base: JsonObject = {
    id: channel.id,
    type: channel.type,
    name: channel.name,
    position: channel.position,
    flags: 0,
    parent_id: channel.parentId,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
    ...(withGuildId && channel.guildId ? { guild_id: channel.guildId } : {}),
  };
  if (channel.type === 0 || channel.type === 5) {
    Object.assign(base, {
      topic: channel.topic,
      nsfw: false,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: 0,
      default_thread_rate_limit_per_user: 0,
      last_pin_timestamp: null,
    });
  }
  if (channel.type === 2) {
    Object.assign(base, {
      bitrate: 64000,
      user_limit: 0,
      rtc_region: null,
      nsfw: false,
      rate_limit_per_user: 0,
    });
  }
  return base;
}

function guildObject(guild: GuildState): JsonObject {
  const systemChannel = guild.channels.find((c) => c.type === 0);
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 1,
    default_message_notifications: 1,
    explicit_content_filter: 2,
    roles: guild.roles.map(roleObject),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: systemChannel?.id ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    max_presences: null,
    max_members: 500000,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    vanity_url_code: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    nsfw: false,
    incidents_data: null,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation (Discord's documented limits)
// ---------------------------------------------------------------------------------------------------------------

function validateEmbeds(embeds: readonly JsonObject[]): ApiError | null {
  if (embeds.length > 10)
    return formError(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  const check = (path: (string | number)[], value: unknown, max: number): ApiError | null => {
    if (typeof value !== 'string') return null;
    total += value.length;
    return value.length > max
      ? formError(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`)
      : null;
  };
  for (const [i, embed] of embeds.entries()) {
    const fields = asObjectArray(embed.fields);
    if (fields.length > 25) {
      return formError(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    }
    const footer = isObject(embed.footer) ? embed.footer : {};
    const author = isObject(embed.author) ? embed.author : {};
    const error =
      check(['embeds', i, 'title'], embed.title, 256) ??
      check(['embeds', i, 'description'], embed.description, 4096) ??
      check(['embeds', i, 'footer', 'text'], footer.text, 2048) ??
      check(['embeds', i, 'author', 'name'], author.name, 256) ??
      fields.reduce<ApiError | null>(
        (err, field, j) =>
          err ??
          check(['embeds', i, 'fields', j, 'name'], field.name, 256) ??
          check(['embeds', i, 'fields', j, 'value'], field.value, 1024),
        null,
      );
    if (error) return error;
  }
  if (total > 6000)
    return formError(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  return null;
}

/**
 * Discord's documented limits on message components: at most 5 action rows (type 1), each with 1–5
 * buttons (type 2); a button has a `custom_id` of 1–100 characters (or a `url` for style 5) and a label of
 * at most 80.
 */
function validateComponents(components: unknown): ApiError | null {
  if (components === undefined || components === null) return null;
  if (!Array.isArray(components)) return formError(['components'], 'BASE_TYPE_BAD_TYPE', 'Must be an array.');
  if (components.length > 5)
    return formError(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  for (const [i, row] of components.entries()) {
    if (!isObject(row) || row.type !== 1)
      return formError(
        ['components', i, 'type'],
        'COMPONENT_TYPE_INVALID',
        'Top-level components must be action rows.',
      );
    const buttons = Array.isArray(row.components) ? row.components : [];
    if (buttons.length === 0 || buttons.length > 5)
      return formError(
        ['components', i, 'components'],
        'BASE_TYPE_BAD_LENGTH',
        'Must be between 1 and 5 in length.',
      );
    for (const [j, b] of buttons.entries()) {
      const path = ['components', i, 'components', j];
      if (!isObject(b) || b.type !== 2)
        return formError([...path, 'type'], 'COMPONENT_TYPE_INVALID', 'Not a button.');
      const id = b.custom_id;
      if (b.style !== 5 && (typeof id !== 'string' || id.length < 1 || id.length > 100))
        return formError(
          [...path, 'custom_id'],
          'BASE_TYPE_BAD_LENGTH',
          'Must be between 1 and 100 in length.',
        );
      if (typeof b.label === 'string' && b.label.length > 80)
        return formError([...path, 'label'], 'BASE_TYPE_MAX_LENGTH', 'Must be 80 or fewer in length.');
    }
  }
  return null;
}

/** Discord: `nonce` is an integer or a string of at most 25 characters. */
function validateNonce(nonce: unknown): ApiError | null {
  if (nonce === undefined || nonce === null) return null;
  if (typeof nonce === 'number' && Number.isSafeInteger(nonce)) return null;
  if (typeof nonce === 'string' && nonce.length <= 25) return null;
  return formError(['nonce'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
}

function validateMessage(body: JsonObject, files: readonly RecordedFile[], isEdit: boolean): ApiError | null {
  const content = body.content;
  if (typeof content === 'string' && content.length > 2000) {
    return formError(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  }
  const embeds = asObjectArray(body.embeds);
  const embedError = validateEmbeds(embeds);
  if (embedError) return embedError;
  if (files.length > 10)
    return formError(['files'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  if (files.some((f) => f.size > MAX_UPLOAD_BYTES)) return apiError(413, 'Request entity too large', 40005);
  const componentError = validateComponents(body.components);
  if (componentError) return componentError;
  const components = Array.isArray(body.components) ? body.components : [];
  const stickers = Array.isArray(body.sticker_ids) ? body.sticker_ids : [];
  const empty =
    (typeof content !== 'string' || content.length === 0) &&
    embeds.length === 0 &&
    files.length === 0 &&
    components.length === 0 &&
    stickers.length === 0 &&
    !isObject(body.poll);
  if (empty && !isEdit) return apiError(400, 'Cannot send an empty message', 50006);
  return null;
}

const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function validateOptions(options: unknown, path: (string | number)[]): ApiError | null {
  if (options === undefined || options === null) return null;
  if (!Array.isArray(options)) return formError(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (options.length > 25) return formError(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  let sawOptional = false;
  const names = new Set<string>();
  for (const [i, option] of options.entries()) {
    const at = [...path, i];
    if (!isObject(option))
      return formError(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    const name = option.name;
    if (typeof name !== 'string' || !COMMAND_NAME.test(name) || name !== name.toLowerCase()) {
      return formError([...at, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid`);
    }
    if (names.has(name)) {
      return formError(
        [...at, 'name'],
        'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
        'Option name already exists',
      );
    }
    names.add(name);
    const description = option.description;
    if (typeof description !== 'string' || description.length < 1 || description.length > 100) {
      return formError(
        [...at, 'description'],
        'BASE_TYPE_BAD_LENGTH',
        'Must be between 1 and 100 in length.',
      );
    }
    const type = option.type;
    if (typeof type !== 'number' || type < 1 || type > 11) {
      return formError([...at, 'type'], 'BASE_TYPE_CHOICES', `Value must be one of {1, 2, ..., 11}.`);
    }
    if (type === 1 || type === 2) {
      const nested = validateOptions(option.options, [...at, 'options']);
      if (nested) return nested;
      continue;
    }
    if (option.required === true && sawOptional) {
      return formError(
        [...at, 'required'],
        'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
        'Required options must be placed before non-required options',
      );
    }
    if (option.required !== true) sawOptional = true;
    if (Array.isArray(option.choices)) {
      if (option.autocomplete === true) {
        return formError(
          [...at, 'autocomplete'],
          'APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES',
          'Autocomplete cannot be set with choices',
        );
      }
      if (option.choices.length > 25) {
        return formError([...at, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      }
      for (const [j, choice] of option.choices.entries()) {
        const choiceName = isObject(choice) ? choice.name : undefined;
        if (typeof choiceName !== 'string' || choiceName.length < 1 || choiceName.length > 100) {
          return formError(
            [...at, 'choices', j, 'name'],
            'BASE_TYPE_BAD_LENGTH',
            'Must be between 1 and 100 in length.',
          );
        }
      }
    }
  }
  return null;
}

function validateCommands(body: unknown): ApiError | null {
  if (!Array.isArray(body)) return formError([], 'BASE_TYPE_ARRAY', 'Must be an array.');
  if (body.length > 110) return formError([], 'BASE_TYPE_MAX_LENGTH', 'Must be 110 or fewer in length.');
  const seen = new Set<string>();
  for (const [i, command] of body.entries()) {
    if (!isObject(command))
      return formError([i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    const type = numOr(command.type, 1);
    const name = command.name;
    if (typeof name !== 'string' || !COMMAND_NAME.test(name) || (type === 1 && name !== name.toLowerCase())) {
      return formError([i, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    const key = `${type}:${name}`;
    if (seen.has(key)) {
      return formError(
        [i, 'name'],
        'APPLICATION_COMMANDS_DUPLICATE_NAME',
        `Application command names must be unique`,
      );
    }
    seen.add(key);
    const description = command.description;
    if (type === 1) {
      if (typeof description !== 'string' || description.length < 1 || description.length > 100) {
        return formError([i, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      }
      const optionError = validateOptions(command.options, [i, 'options']);
      if (optionError) return optionError;
    } else if (typeof description === 'string' && description.length > 0) {
      return formError(
        [i, 'description'],
        'APPLICATION_COMMAND_INVALID_DESCRIPTION',
        'Description must be empty',
      );
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Multipart / body parsing
// ---------------------------------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface ParsedBody {
  readonly json: unknown;
  readonly files: RecordedFile[];
}

/** Parses JSON or multipart/form-data (with WHATWG `Request#formData()`, i.e. undici's real parser). */
async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: null, files: [] };
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake-discord.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType ?? '' },
      body: raw,
    }).formData();
    const files: RecordedFile[] = [];
    let json: unknown = null;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = JSON.parse(value);
        continue;
      }
      const data = Buffer.from(await value.arrayBuffer());
      files.push({ field, name: value.name, contentType: value.type, data, size: data.length });
    }
    return { json, files };
  }
  return { json: JSON.parse(raw.toString('utf8')), files: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------------------------

interface Waiter {
  readonly check: () => boolean;
  readonly reject: (error: Error) => void;
}

interface Session {
  readonly id: string;
  readonly intents: number;
  seq: number;
  readonly log: JsonObject[];
  socket: WebSocket | null;
  invalidated: boolean;
}

interface InteractionState {
  readonly id: string;
  readonly token: string;
  readonly type: 2 | 3 | 4;
  readonly payload: JsonObject;
  readonly createdAt: number;
  readonly channelId: string;
  readonly guildId: string | null;
  callback: RecordedCallback | null;
  acknowledged: boolean;
  deferred: boolean;
  original: JsonObject | null;
  final: RecordedReply | null;
  refused: string | null;
  readonly edits: RecordedReply[];
  readonly followUps: RecordedReply[];
  readonly messages: Map<string, JsonObject>;
}

interface RouteDef {
  readonly method: string;
  readonly pattern: RegExp;
  readonly name: string;
  readonly auth: boolean;
  readonly handler: (
    ctx: RouteContext,
    record: RecordedRequest,
  ) => RouteResult | ApiError | Promise<RouteResult | ApiError>;
}

interface PendingFailure {
  readonly matcher: RequestMatcher;
  readonly response: InjectedResponse;
}

/**
 * Starts a fake Discord (HTTP API + gateway) on 127.0.0.1 with ephemeral ports.
 *
 * @example
 * const fake = await startFakeDiscord({ heartbeatIntervalMs: 1000 });
 * const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl, retries: 2 } });
 * await Promise.all([once(client, Events.ClientReady), client.login(fake.token)]);
 */
export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const applicationId = options.applicationId ?? FAKE_DEFAULTS.applicationId;
  const token =
    options.token ??
    `${Buffer.from(applicationId).toString('base64').replace(/=+$/, '')}.GfAkE0.${randomBytes(28).toString('base64url')}`;
  const applicationName = options.applicationName ?? 'creditwatch';
  const applicationFlags = options.applicationFlags ?? 0;
  const heartbeatInterval = options.heartbeatIntervalMs ?? 41250;
  const deadlineMs = options.interactionDeadlineMs === undefined ? 3000 : options.interactionDeadlineMs;
  const allowedPrivileged = options.privilegedIntents ?? 0;
  const nonceWindowMs = options.nonceWindowMs ?? 120_000;
  const botUserInput: FakeUserInput = { id: applicationId, username: options.botUsername ?? applicationName };
  const botPublicUser = userObject(botUserInput, true);
  const botUser: JsonObject = { ...botPublicUser, verified: true, mfa_enabled: true };

  // ---- world ----
  const g = options.guild ?? {};
  const guildId = g.id ?? FAKE_DEFAULTS.guildId;
  const botRoleId = FAKE_DEFAULTS.botRoleId;
  const extraRoles: readonly FakeRoleInput[] = g.roles ?? [
    {
      id: FAKE_DEFAULTS.adminRoleId,
      name: 'Finance Admin',
      permissions: Permission.ManageGuild,
      color: 0x2ecc71,
    },
    { id: FAKE_DEFAULTS.memberRoleId, name: 'Member', permissions: 0n },
  ];
  const roles: RoleState[] = [
    {
      id: guildId,
      name: '@everyone',
      permissions: toBigInt(g.everyonePermissions, DEFAULT_EVERYONE),
      position: 0,
      color: 0,
      managed: false,
      botId: null,
    },
    {
      id: botRoleId,
      name: applicationName,
      permissions: toBigInt(g.botPermissions, DEFAULT_BOT),
      position: 1,
      color: 0,
      managed: true,
      botId: applicationId,
    },
    ...extraRoles.map((r, i) => ({
      id: r.id,
      name: r.name,
      permissions: toBigInt(r.permissions, 0n),
      position: r.position ?? i + 2,
      color: r.color ?? 0,
      managed: false,
      botId: null,
    })),
  ];
  const channelInputs: readonly FakeChannelInput[] = g.channels ?? [
    { id: FAKE_DEFAULTS.categoryId, name: 'Ops', type: 4 },
    {
      id: FAKE_DEFAULTS.channelId,
      name: 'llm-credits',
      parentId: FAKE_DEFAULTS.categoryId,
      topic: 'Credit alerts',
    },
  ];
  const channels: ChannelState[] = channelInputs.map((c, i) => ({
    id: c.id,
    name: c.name,
    type: c.type ?? 0,
    parentId: c.parentId ?? null,
    topic: c.topic ?? null,
    position: i,
    overwrites: (c.permissionOverwrites ?? []).map((o) => ({
      id: o.id,
      type: o.type,
      allow: toBigInt(o.allow, 0n),
      deny: toBigInt(o.deny, 0n),
    })),
    guildId,
    recipient: null,
    lastMessageId: null,
  }));
  const firstText = channels.find((c) => c.type === 0);
  if (!firstText) throw new Error('fake-discord: the guild needs at least one text channel');
  const guild: GuildState = {
    id: guildId,
    name: g.name ?? 'Acme Finance',
    ownerId: g.ownerId ?? FAKE_DEFAULTS.ownerId,
    roles,
    channels,
    joinedAt: new Date(Date.now() - 86_400_000).toISOString(),
  };
  const dmChannels = new Map<string, ChannelState>();
  const knownUsers = new Map<string, { user: JsonObject; roles: readonly string[] }>();
  const roleIds: Record<string, string> = { everyone: guildId, bot: botRoleId };
  for (const r of extraRoles) roleIds[r.name] = r.id;

  const findChannel = (id: string): ChannelState | null =>
    channels.find((c) => c.id === id) ?? dmChannels.get(id) ?? null;
  const botPermissionsIn = (channel: ChannelState | null): bigint =>
    channel?.type === 1 ? DM_APP_PERMISSIONS : computePermissions(guild, applicationId, [botRoleId], channel);

  const memberObject = (user: JsonObject, memberRoles: readonly string[]): JsonObject => ({
    avatar: null,
    banner: null,
    communication_disabled_until: null,
    deaf: false,
    flags: 0,
    joined_at: guild.joinedAt,
    mute: false,
    nick: null,
    pending: false,
    premium_since: null,
    roles: [...memberRoles],
    user,
  });
  const botMember = (): JsonObject => memberObject(botPublicUser, [botRoleId]);

  // ---- recorders & waiters ----
  const requests: RecordedRequest[] = [];
  const messages: RecordedMessage[] = [];
  const registrations: RecordedRegistration[] = [];
  const handles: InteractionHandle[] = [];
  const interactionsById = new Map<string, InteractionState>();
  const interactionsByToken = new Map<string, InteractionState>();
  const channelMessages = new Map<string, JsonObject>();
  const attachmentsByPath = new Map<string, RecordedFile>();
  const commandStore = new Map<string, RegisteredCommand[]>();
  const commandIds = new Map<string, string>();
  const failures: PendingFailure[] = [];
  const failureWindows: { matcher: RequestMatcher; response: InjectedStatus; until: number }[] = [];
  /** `channel/nonce` → the message a create with `enforce_nonce` made, and when. */
  const nonces = new Map<string, { message: JsonObject; at: number }>();
  const customRoutes: RouteDef[] = [];
  const waiters = new Set<Waiter>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const notify = (): void => {
    for (const waiter of [...waiters]) waiter.check();
  };

  const waitFor = <T>(
    probe: () => T | null | undefined | false,
    timeoutMs = 5000,
    label = 'condition',
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        check: () => {
          let value: T | null | undefined | false;
          try {
            value = probe();
          } catch (error) {
            finish();
            reject(error instanceof Error ? error : new Error(String(error)));
            return true;
          }
          if (value === null || value === undefined || value === false) return false;
          finish();
          resolve(value);
          return true;
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      const finish = (): void => {
        waiters.delete(waiter);
        if (poll) clearInterval(poll);
        if (timer) {
          clearTimeout(timer);
          timers.delete(timer);
        }
      };
      if (closed) {
        reject(new Error(`fake-discord is closed (waiting for ${label})`));
        return;
      }
      if (waiter.check()) return;
      waiters.add(waiter);
      // Also poll, so probes may look at client-side state (e.g. discord.js caches) too.
      poll = setInterval(() => waiter.check(), 20);
      timer = setTimeout(() => {
        finish();
        reject(new Error(`fake-discord: timed out after ${timeoutMs} ms waiting for ${label}`));
      }, timeoutMs);
      timers.add(timer);
    });

  // ---- servers ----
  const server = createServer((req, res) => {
    void handleHttp(req, res).catch((error: unknown) => {
      // A bug in the fake (or in a custom route): make it loud, since discord.js silently retries 500s.
      console.error('fake-discord: internal error while handling', req.method, req.url, error);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `fake-discord internal error: ${String(error)}`, code: 0 }));
      }
    });
  });
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const gatewayUrl = `ws://127.0.0.1:${port}`;
  const resumeUrl = `ws://127.0.0.1:${port}/resume`;

  // ---- gateway ----
  const sessions = new Map<string, Session>();
  const connections: GatewayConnectionRecord[] = [];
  const identifies: JsonObject[] = [];
  const received: JsonObject[] = [];
  const gatewayCounters = { identify: 0, resume: 0, heartbeat: 0, sessionId: null as string | null };
  const sockets = new Set<WebSocket>();
  const markServerClose = new WeakMap<WebSocket, () => void>();
  const gateway: FakeGateway = {
    url: gatewayUrl,
    get identifyCount() {
      return gatewayCounters.identify;
    },
    get resumeCount() {
      return gatewayCounters.resume;
    },
    get heartbeatCount() {
      return gatewayCounters.heartbeat;
    },
    connections,
    identifies,
    received,
    get openSockets() {
      return [...sockets].filter((s) => s.readyState === WebSocket.OPEN).length;
    },
    get sessionId() {
      return gatewayCounters.sessionId;
    },
    ackHeartbeats: true,
  };

  const sendRaw = (socket: WebSocket, payload: JsonObject): void => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
  };

  const dispatchTo = (session: Session, t: string, d: unknown): void => {
    session.seq += 1;
    const payload: JsonObject = { op: 0, t, s: session.seq, d };
    session.log.push(payload);
    if (session.socket) sendRaw(session.socket, payload);
  };

  const guildCreatePayload = (): JsonObject => ({
    ...guildObject(guild),
    joined_at: guild.joinedAt,
    large: false,
    unavailable: false,
    lazy: true,
    member_count: 3,
    members: [botMember()],
    channels: channels.map((c) => channelObject(c, false)),
    threads: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    embedded_activities: [],
    activity_instances: [],
    application_command_counts: {},
    hub_type: null,
    version: Date.now(),
  });

  wss.on('connection', (socket, req) => {
    sockets.add(socket);
    const url = new URL(req.url ?? '/', baseUrl);
    const record: GatewayConnectionRecord = {
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      openedAt: Date.now(),
      closedAt: null,
      closeCode: null,
      closedBy: null,
    };
    connections.push(record);
    let session: Session | null = null;
    let serverClosing = false;
    const closeWith = (code: number, reason: string): void => {
      serverClosing = true;
      socket.close(code, reason);
    };

    socket.on('close', (code) => {
      sockets.delete(socket);
      record.closedAt = Date.now();
      record.closeCode = code;
      record.closedBy = serverClosing ? 'server' : 'client';
      if (session && session.socket === socket) {
        session.socket = null;
        // Per Discord, a client closing with 1000/1001 ends the session; anything else keeps it resumable.
        if (!serverClosing && (code === 1000 || code === 1001)) {
          session.invalidated = true;
          sessions.delete(session.id);
        }
      }
      notify();
    });
    socket.on('error', () => {
      /* recorded via close */
    });

    if (url.searchParams.get('v') !== '10') {
      closeWith(4012, 'Invalid API version');
      return;
    }
    if ((url.searchParams.get('encoding') ?? 'json') !== 'json') {
      closeWith(4002, 'Error while decoding payload.');
      return;
    }

    markServerClose.set(socket, () => {
      serverClosing = true;
    });

    sendRaw(socket, {
      op: 10,
      d: { heartbeat_interval: heartbeatInterval, _trace: ['["fake-discord",{}]'] },
      s: null,
      t: null,
    });
    notify();

    socket.on('message', (raw: RawData, isBinary: boolean) => {
      let payload: unknown;
      try {
        if (isBinary) throw new Error('binary');
        payload = JSON.parse(raw.toString());
      } catch {
        closeWith(4002, 'Error while decoding payload.');
        return;
      }
      if (!isObject(payload)) {
        closeWith(4002, 'Error while decoding payload.');
        return;
      }
      received.push(payload);
      setImmediate(notify);
      const d = payload.d;
      switch (payload.op) {
        case 1: {
          gatewayCounters.heartbeat += 1;
          if (gateway.ackHeartbeats) sendRaw(socket, { op: 11, d: null, s: null, t: null });
          break;
        }
        case 2: {
          if (session) {
            closeWith(4005, 'Already authenticated.');
            break;
          }
          if (!isObject(d) || d.token !== token) {
            closeWith(4004, 'Authentication failed.');
            break;
          }
          const intents = numOr(d.intents, -1);
          if (intents < 0) {
            closeWith(4013, 'Invalid intent(s).');
            break;
          }
          if ((intents & PRIVILEGED_INTENTS & ~allowedPrivileged) !== 0) {
            closeWith(4014, 'Disallowed intent(s).');
            break;
          }
          gatewayCounters.identify += 1;
          identifies.push(d);
          const id = randomBytes(16).toString('hex');
          session = { id, intents, seq: 0, log: [], socket, invalidated: false };
          sessions.set(id, session);
          gatewayCounters.sessionId = id;
          dispatchTo(session, 'READY', {
            v: 10,
            user_settings: {},
            user: botUser,
            guilds: [{ id: guildId, unavailable: true }],
            session_id: id,
            session_type: 'normal',
            resume_gateway_url: resumeUrl,
            shard: Array.isArray(d.shard) ? d.shard : [0, 1],
            application: { id: applicationId, flags: applicationFlags },
            private_channels: [],
            presences: [],
            relationships: [],
            guild_join_requests: [],
            geo_ordered_rtc_regions: ['us-east'],
            auth: {},
            _trace: ['["fake-discord-gateway",{}]'],
          });
          if ((intents & INTENT_GUILDS) !== 0) dispatchTo(session, 'GUILD_CREATE', guildCreatePayload());
          notify();
          break;
        }
        case 6: {
          if (session) {
            closeWith(4005, 'Already authenticated.');
            break;
          }
          const existing =
            isObject(d) && typeof d.session_id === 'string' ? sessions.get(d.session_id) : undefined;
          if (!isObject(d) || d.token !== token) {
            closeWith(4004, 'Authentication failed.');
            break;
          }
          if (!existing || existing.invalidated) {
            sendRaw(socket, { op: 9, d: false, s: null, t: null });
            break;
          }
          const seq = numOr(d.seq, 0);
          if (seq > existing.seq) {
            closeWith(4007, 'Invalid seq.');
            break;
          }
          if (existing.socket && existing.socket !== socket) {
            markServerClose.get(existing.socket)?.();
            existing.socket.terminate();
          }
          gatewayCounters.resume += 1;
          session = existing;
          existing.socket = socket;
          for (const missed of existing.log) if (numOr(missed.s, 0) > seq) sendRaw(socket, missed);
          dispatchTo(existing, 'RESUMED', { _trace: ['["fake-discord-gateway",{}]'] });
          notify();
          break;
        }
        case 8: {
          if (!session) {
            closeWith(4003, 'Not authenticated.');
            break;
          }
          // Answer with the members the fake knows (the bot and users seen in interactions).
          const request = isObject(d) ? d : {};
          const wanted = Array.isArray(request.user_ids)
            ? request.user_ids.map(String)
            : typeof request.user_ids === 'string'
              ? [request.user_ids]
              : null;
          const all = [
            botMember(),
            ...[...knownUsers.values()].map((known) => memberObject(known.user, known.roles)),
          ];
          const memberId = (m: JsonObject): string => String(isObject(m.user) ? m.user.id : '');
          const found = wanted ? all.filter((m) => wanted.includes(memberId(m))) : all;
          dispatchTo(session, 'GUILD_MEMBERS_CHUNK', {
            guild_id: request.guild_id ?? guildId,
            members: found,
            chunk_index: 0,
            chunk_count: 1,
            not_found: wanted ? wanted.filter((id) => !found.some((m) => memberId(m) === id)) : [],
            ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
          });
          break;
        }
        case 3:
        case 4:
        case 31:
        case 43: {
          if (!session) closeWith(4003, 'Not authenticated.');
          break;
        }
        default: {
          closeWith(4001, 'Unknown opcode.');
        }
      }
    });
  });

  const dispatch = (t: string, d: unknown): number => {
    let count = 0;
    for (const session of sessions.values()) {
      if (session.invalidated) continue;
      dispatchTo(session, t, d);
      count += 1;
    }
    notify();
    return count;
  };

  const dropGatewayConnection = async (code: number | 'terminate' = 4000): Promise<void> => {
    const open = [...sockets].filter((s) => s.readyState === WebSocket.OPEN);
    if (open.length === 0) throw new Error('fake-discord: no open gateway connection to drop');
    await Promise.all(
      open.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.once('close', () => resolve());
            markServerClose.get(socket)?.();
            if (code === 'terminate') socket.terminate();
            else socket.close(code, 'fake-discord: dropped by test');
          }),
      ),
    );
  };

  // ---- messages ----
  const buildMessage = (args: {
    id: string;
    channelId: string;
    body: JsonObject;
    files: readonly RecordedFile[];
    flags: number;
    webhookId: string | null;
    interaction: InteractionState | null;
    previous: JsonObject | null;
  }): JsonObject => {
    const channel = findChannel(args.channelId);
    const requested = asObjectArray(args.body.attachments);
    const kept = args.previous ? asObjectArray(args.previous.attachments) : [];
    const attachments: JsonObject[] = [];
    for (const meta of requested) {
      const existing = kept.find((a) => a.id === meta.id);
      if (existing) {
        attachments.push(existing);
        continue;
      }
      const file = args.files.find((f) => f.field === `files[${String(meta.id)}]`);
      if (!file) continue;
      attachments.push(attachmentObject(args.channelId, file, meta));
    }
    for (const file of args.files) {
      const index = /^files\[(\d+)\]$/.exec(file.field)?.[1];
      if (!requested.some((m) => String(m.id) === index))
        attachments.push(attachmentObject(args.channelId, file, {}));
    }
    const previous = args.previous ?? {};
    const pick = (key: string, fallback: unknown): unknown =>
      key in args.body ? args.body[key] : (previous[key] ?? fallback);
    const embeds = asObjectArray(pick('embeds', [])).map((e) => ({
      type: 'rich',
      ...e,
      content_scan_version: 0,
    }));
    const message: JsonObject = {
      id: args.id,
      type: args.interaction ? 20 : 0,
      channel_id: args.channelId,
      author: botPublicUser,
      content: pick('content', '') ?? '',
      timestamp: typeof previous.timestamp === 'string' ? previous.timestamp : new Date().toISOString(),
      edited_timestamp: args.previous ? new Date().toISOString() : null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: args.body.attachments === undefined && args.previous ? kept : attachments,
      embeds,
      pinned: false,
      flags: args.flags,
      components: pick('components', []),
      ...(args.webhookId ? { webhook_id: args.webhookId, application_id: applicationId } : {}),
      ...(channel?.guildId ? { guild_id: channel.guildId } : {}),
    };
    if (args.interaction) {
      const user = isObject(args.interaction.payload.member)
        ? args.interaction.payload.member.user
        : args.interaction.payload.user;
      const data = isObject(args.interaction.payload.data) ? args.interaction.payload.data : {};
      message.interaction_metadata = {
        id: args.interaction.id,
        type: args.interaction.type,
        user,
        authorizing_integration_owners: args.interaction.payload.authorizing_integration_owners,
        name: data.name,
        command_type: data.type,
      };
      message.interaction = { id: args.interaction.id, type: args.interaction.type, name: data.name, user };
    }
    return message;
  };

  const attachmentObject = (channelId: string, file: RecordedFile, meta: JsonObject): JsonObject => {
    const id = snowflake();
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(file.name)}`;
    attachmentsByPath.set(path, file);
    const size = file.contentType === 'image/png' ? pngSize(file.data) : null;
    return {
      id,
      filename: file.name,
      size: file.size,
      url: `${baseUrl}${path}`,
      proxy_url: `${baseUrl}${path}`,
      content_type: file.contentType,
      ...(typeof meta.description === 'string' ? { description: meta.description } : {}),
      ...(size ? size : {}),
    };
  };

  const toReply = (
    source: RecordedReply['source'],
    messageId: string,
    body: JsonObject,
    files: readonly RecordedFile[],
    receivedAt: number,
    flagsOverride?: number,
  ): RecordedReply => {
    const flags = flagsOverride ?? numOr(body.flags, 0);
    return {
      source,
      messageId,
      content: strOrNull(body.content),
      embeds: asObjectArray(body.embeds),
      components: Array.isArray(body.components) ? body.components : [],
      flags,
      ephemeral: (flags & EPHEMERAL) !== 0,
      allowedMentions: isObject(body.allowed_mentions) ? body.allowed_mentions : null,
      attachments: asObjectArray(body.attachments),
      files,
      body,
      receivedAt,
    };
  };

  // ---- routes ----
  const routes: RouteDef[] = [];
  const route = (
    method: string,
    pattern: RegExp,
    name: string,
    handler: RouteDef['handler'],
    auth = true,
  ): void => {
    routes.push({ method, pattern, name, auth, handler });
  };
  const ok = (body: unknown, status = 200): RouteResult => ({ status, body });
  const noContent: RouteResult = { status: 204 };
  const ID = '(\\d{15,21})';
  const TOKEN = '([A-Za-z0-9_\\-.:]+)';
  const re = (source: string): RegExp => new RegExp(`^${source}$`);

  const applicationObject = (): JsonObject => ({
    id: applicationId,
    name: applicationName,
    icon: null,
    description: 'Watches LLM API credit balances',
    summary: '',
    type: null,
    hook: true,
    bot_public: false,
    bot_require_code_grant: false,
    verify_key: randomBytes(32).toString('hex'),
    flags: applicationFlags,
    is_monetized: false,
    is_verified: false,
    is_discoverable: false,
    approximate_guild_count: 1,
    redirect_uris: [],
    interactions_endpoint_url: null,
    integration_types_config: { '0': {} },
    owner: userObject({ id: guild.ownerId, username: 'owner' }, false),
    team: null,
    bot: botUser,
  });

  route('GET', re('/gateway'), 'GET /gateway', () => ok({ url: gatewayUrl }), false);
  route('GET', re('/gateway/bot'), 'GET /gateway/bot', () =>
    ok({
      url: gatewayUrl,
      shards: 1,
      session_start_limit: {
        total: 1000,
        remaining: Math.max(1, 1000 - gatewayCounters.identify),
        reset_after: 14_400_000,
        max_concurrency: 1,
      },
    }),
  );
  route('GET', re('/users/@me'), 'GET /users/@me', () => ok(botUser));
  route('GET', re(`/users/${ID}`), 'GET /users/:id', (ctx) => {
    const id = ctx.params[0] ?? '';
    if (id === applicationId) return ok(botUser);
    const known = knownUsers.get(id);
    return known ? ok(known.user) : apiError(404, 'Unknown User', 10013);
  });
  route('POST', re('/users/@me/channels'), 'POST /users/@me/channels', (ctx) => {
    const body = isObject(ctx.body) ? ctx.body : {};
    const recipientId = strOrNull(body.recipient_id);
    if (!recipientId) return formError(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
    const existing = [...dmChannels.values()].find((c) => c.recipient?.id === recipientId);
    if (existing) return ok(channelObject(existing, false));
    const user =
      knownUsers.get(recipientId)?.user ?? userObject({ id: recipientId, username: 'user' }, false);
    const channel = newDmChannel(user);
    dmChannels.set(channel.id, channel);
    return ok(channelObject(channel, false));
  });
  route('GET', re('/(?:oauth2/)?applications/@me'), 'GET /applications/@me', () => ok(applicationObject()));

  // Commands
  const scopeKey = (gid: string | null): string => gid ?? 'global';
  const storeCommands = (
    appId: string,
    gid: string | null,
    body: readonly JsonObject[],
  ): RegisteredCommand[] => {
    const stored = body.map((c): RegisteredCommand => {
      const type = numOr(c.type, 1);
      const name = String(c.name);
      const idKey = `${scopeKey(gid)}:${type}:${name}`;
      const id = commandIds.get(idKey) ?? snowflake();
      commandIds.set(idKey, id);
      const base: JsonObject = {
        id,
        application_id: appId,
        version: snowflake(),
        default_member_permissions: c.default_member_permissions ?? null,
        type,
        name,
        name_localizations: c.name_localizations ?? null,
        description: typeof c.description === 'string' ? c.description : '',
        description_localizations: c.description_localizations ?? null,
        nsfw: c.nsfw ?? false,
        ...(c.options !== undefined ? { options: c.options } : {}),
        ...(gid
          ? { guild_id: gid }
          : {
              dm_permission: c.dm_permission ?? true,
              contexts: c.contexts ?? null,
              integration_types: c.integration_types ?? [0],
            }),
      };
      return { ...base, id, name };
    });
    commandStore.set(scopeKey(gid), stored);
    return stored;
  };
  const checkApp = (appId: string | undefined): ApiError | null =>
    appId === applicationId ? null : apiError(403, 'Missing Access', 50001);
  const checkGuild = (gid: string | undefined): ApiError | null =>
    gid === guildId ? null : apiError(403, 'Missing Access', 50001);
  const putCommands = (ctx: RouteContext, gid: string | null): RouteResult | ApiError => {
    const appError = checkApp(ctx.params[0]) ?? (gid === null ? null : checkGuild(gid));
    const error = appError ?? validateCommands(ctx.body);
    registrations.push({
      scope: gid === null ? 'global' : 'guild',
      guildId: gid,
      body: ctx.body,
      receivedAt: Date.now(),
      status: error ? error.status : 200,
    });
    if (error) return error;
    return ok(storeCommands(applicationId, gid, ctx.body as JsonObject[]));
  };
  route('PUT', re(`/applications/${ID}/commands`), 'PUT /applications/:id/commands', (ctx) =>
    putCommands(ctx, null),
  );
  route(
    'PUT',
    re(`/applications/${ID}/guilds/${ID}/commands`),
    'PUT /applications/:id/guilds/:id/commands',
    (ctx) => putCommands(ctx, ctx.params[1] ?? ''),
  );
  route(
    'GET',
    re(`/applications/${ID}/commands`),
    'GET /applications/:id/commands',
    (ctx) => checkApp(ctx.params[0]) ?? ok(commandStore.get('global') ?? []),
  );
  route(
    'GET',
    re(`/applications/${ID}/guilds/${ID}/commands`),
    'GET /applications/:id/guilds/:id/commands',
    (ctx) => {
      const gid = ctx.params[1] ?? '';
      return checkApp(ctx.params[0]) ?? checkGuild(gid) ?? ok(commandStore.get(gid) ?? []);
    },
  );

  // Guild
  route(
    'GET',
    re(`/guilds/${ID}`),
    'GET /guilds/:id',
    (ctx) => checkGuild(ctx.params[0]) ?? ok(guildObject(guild)),
  );
  route(
    'GET',
    re(`/guilds/${ID}/channels`),
    'GET /guilds/:id/channels',
    (ctx) => checkGuild(ctx.params[0]) ?? ok(channels.map((c) => channelObject(c, true))),
  );
  route(
    'GET',
    re(`/guilds/${ID}/roles`),
    'GET /guilds/:id/roles',
    (ctx) => checkGuild(ctx.params[0]) ?? ok(roles.map(roleObject)),
  );
  route('GET', re(`/guilds/${ID}/members/${ID}`), 'GET /guilds/:id/members/:id', (ctx) => {
    const error = checkGuild(ctx.params[0]);
    if (error) return error;
    const userId = ctx.params[1] ?? '';
    if (userId === applicationId) return ok(botMember());
    const known = knownUsers.get(userId);
    return known ? ok(memberObject(known.user, known.roles)) : apiError(404, 'Unknown Member', 10007);
  });

  // Channels & messages
  const channelOr404 = (id: string | undefined): ChannelState | ApiError => {
    const channel = id ? findChannel(id) : null;
    return channel ?? apiError(404, 'Unknown Channel', 10003);
  };
  route('GET', re(`/channels/${ID}`), 'GET /channels/:id', (ctx) => {
    const channel = channelOr404(ctx.params[0]);
    if ('status' in channel) return channel;
    if ((botPermissionsIn(channel) & Permission.ViewChannel) === 0n)
      return apiError(403, 'Missing Access', 50001);
    return ok(channelObject(channel, true));
  });
  route('POST', re(`/channels/${ID}/typing`), 'POST /channels/:id/typing', (ctx) => {
    const channel = channelOr404(ctx.params[0]);
    return 'status' in channel ? channel : noContent;
  });
  const sendPermissionError = (channel: ChannelState, files: readonly RecordedFile[]): ApiError | null => {
    if (channel.type !== 0 && channel.type !== 5 && channel.type !== 1) {
      return apiError(400, 'Cannot send messages in a non-text channel', 50008);
    }
    const perms = botPermissionsIn(channel);
    if ((perms & Permission.ViewChannel) === 0n) return apiError(403, 'Missing Access', 50001);
    if ((perms & Permission.SendMessages) === 0n) return apiError(403, 'Missing Permissions', 50013);
    if (files.length > 0 && (perms & Permission.AttachFiles) === 0n)
      return apiError(403, 'Missing Permissions', 50013);
    return null;
  };
  const recordMessage = (
    kind: RecordedMessage['kind'],
    id: string,
    channelId: string,
    body: JsonObject,
    files: readonly RecordedFile[],
    response: JsonObject,
  ): RecordedMessage => ({
    kind,
    id,
    channelId,
    content: strOrNull(body.content),
    embeds: asObjectArray(body.embeds),
    allowedMentions: isObject(body.allowed_mentions) ? body.allowed_mentions : null,
    components: Array.isArray(body.components) ? body.components : [],
    flags: numOr(body.flags, 0),
    attachments: asObjectArray(body.attachments),
    files,
    body,
    receivedAt: Date.now(),
    response,
  });
  route('POST', re(`/channels/${ID}/messages`), 'POST /channels/:id/messages', (ctx) => {
    const channel = channelOr404(ctx.params[0]);
    if ('status' in channel) return channel;
    const body = isObject(ctx.body) ? ctx.body : {};
    const error =
      sendPermissionError(channel, ctx.files) ??
      validateNonce(body.nonce) ??
      validateMessage(body, ctx.files, false);
    if (error) return error;
    const nonceKey =
      body.nonce === undefined || body.nonce === null ? null : `${channel.id}/${String(body.nonce)}`;
    if (nonceKey !== null && body.enforce_nonce === true) {
      const seen = nonces.get(nonceKey);
      // Discord: "If another message was created by the same author with the same nonce, that message will
      // be returned and no new message will be created."
      if (seen && Date.now() - seen.at <= nonceWindowMs) return ok(seen.message);
    }
    const id = snowflake();
    const flags = numOr(body.flags, 0) & 4; // only SUPPRESS_EMBEDS may be set on create
    const message = buildMessage({
      id,
      channelId: channel.id,
      body,
      files: ctx.files,
      flags,
      webhookId: null,
      interaction: null,
      previous: null,
    });
    if (nonceKey !== null) message.nonce = body.nonce;
    channelMessages.set(id, message);
    if (nonceKey !== null && body.enforce_nonce === true) nonces.set(nonceKey, { message, at: Date.now() });
    channel.lastMessageId = id;
    messages.push(recordMessage('create', id, channel.id, body, ctx.files, message));
    for (const session of sessions.values()) {
      if (!session.invalidated && (session.intents & INTENT_GUILD_MESSAGES) !== 0 && channel.guildId) {
        dispatchTo(session, 'MESSAGE_CREATE', { ...message, member: botMember(), mentions: [] });
      }
    }
    return ok(message);
  });
  route('GET', re(`/channels/${ID}/messages/${ID}`), 'GET /channels/:id/messages/:id', (ctx) => {
    const message = channelMessages.get(ctx.params[1] ?? '');
    return message && message.channel_id === ctx.params[0]
      ? ok(message)
      : apiError(404, 'Unknown Message', 10008);
  });
  route('PATCH', re(`/channels/${ID}/messages/${ID}`), 'PATCH /channels/:id/messages/:id', (ctx) => {
    const id = ctx.params[1] ?? '';
    const previous = channelMessages.get(id);
    if (!previous || previous.channel_id !== ctx.params[0]) return apiError(404, 'Unknown Message', 10008);
    const body = isObject(ctx.body) ? ctx.body : {};
    const error = validateMessage(body, ctx.files, true);
    if (error) return error;
    const message = buildMessage({
      id,
      channelId: String(previous.channel_id),
      body,
      files: ctx.files,
      flags: numOr(body.flags, numOr(previous.flags, 0)),
      webhookId: null,
      interaction: null,
      previous,
    });
    channelMessages.set(id, message);
    messages.push(recordMessage('edit', id, String(previous.channel_id), body, ctx.files, message));
    return ok(message);
  });
  route('DELETE', re(`/channels/${ID}/messages/${ID}`), 'DELETE /channels/:id/messages/:id', (ctx) => {
    const id = ctx.params[1] ?? '';
    const message = channelMessages.get(id);
    if (!message || message.channel_id !== ctx.params[0]) return apiError(404, 'Unknown Message', 10008);
    channelMessages.delete(id);
    return noContent;
  });

  // Interactions
  const interactionCallback = (ctx: RouteContext): RouteResult | ApiError => {
    const state = interactionsById.get(ctx.params[0] ?? '');
    if (!state || state.token !== ctx.params[1]) return apiError(404, 'Unknown interaction', 10062);
    const body = isObject(ctx.body) ? ctx.body : {};
    const type = numOr(body.type, 0);
    const data = isObject(body.data) ? body.data : null;
    const receivedAt = Date.now();
    const withResponse = ctx.query.get('with_response') === 'true';
    const record = (status: number): RecordedCallback => {
      const flags = numOr(data?.flags, 0);
      return {
        type,
        data,
        content: strOrNull(data?.content),
        flags,
        ephemeral: (flags & EPHEMERAL) !== 0,
        choices: data && Array.isArray(data.choices) ? asObjectArray(data.choices) : null,
        files: ctx.files,
        body,
        receivedAt,
        status,
      };
    };
    const refuse = (error: ApiError, reason: string): ApiError => {
      if (!state.callback) {
        state.callback = record(error.status);
        state.refused = reason;
      }
      return error;
    };
    if (state.acknowledged) {
      return apiError(400, 'Interaction has already been acknowledged.', 40060);
    }
    if (deadlineMs !== null && receivedAt - state.createdAt > deadlineMs) {
      return refuse(
        apiError(404, 'Unknown interaction', 10062),
        `callback arrived ${receivedAt - state.createdAt} ms after dispatch (deadline ${deadlineMs} ms)`,
      );
    }
    const allowed = state.type === 4 ? [8] : state.type === 3 ? [4, 5, 6, 7, 9] : [4, 5, 9];
    if (!allowed.includes(type)) {
      return refuse(
        formError(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Interaction response type is invalid'),
        `callback type ${type} is not valid for interaction type ${state.type}`,
      );
    }
    if (type === 8) {
      const choices = data && Array.isArray(data.choices) ? data.choices : [];
      if (choices.length > 25) {
        return refuse(
          formError(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.'),
          'more than 25 autocomplete choices',
        );
      }
    }
    if (type === 4) {
      const error = validateMessage(data ?? {}, ctx.files, false);
      if (error) return refuse(error, `invalid reply: ${JSON.stringify(error.body)}`);
    }
    if (type === 7) {
      const error = validateMessage(data ?? {}, ctx.files, true) ?? validateComponents(data?.components);
      if (error) return refuse(error, `invalid update: ${JSON.stringify(error.body)}`);
    }
    const status = withResponse ? 200 : 204;
    state.callback = record(status);
    state.acknowledged = true;
    let message: JsonObject | null = null;
    const flags = numOr(data?.flags, 0) & EPHEMERAL;
    if (type === 4 || type === 5) {
      const id = snowflake();
      message = buildMessage({
        id,
        channelId: state.channelId,
        body: type === 4 ? (data ?? {}) : { content: '' },
        files: type === 4 ? ctx.files : [],
        flags: type === 5 ? flags | LOADING : flags,
        webhookId: applicationId,
        interaction: state,
        previous: null,
      });
      state.original = message;
      state.messages.set(id, message);
    }
    if (type === 6 || type === 7) {
      // The message the button is on: an update edits it in place (type 7); a deferred update (6) only
      // acknowledges, and @original is that message.
      const target = isObject(state.payload.message) ? String(state.payload.message.id) : '';
      const previous = channelMessages.get(target);
      if (previous && type === 7) {
        const updated = buildMessage({
          id: target,
          channelId: String(previous.channel_id),
          body: data ?? {},
          files: ctx.files,
          flags: numOr(previous.flags, 0),
          webhookId: null,
          interaction: null,
          previous,
        });
        channelMessages.set(target, updated);
        messages.push(
          recordMessage('edit', target, String(previous.channel_id), data ?? {}, ctx.files, updated),
        );
        message = updated;
      }
      if (type === 6) state.deferred = true;
      else state.final = toReply('callback', target, data ?? {}, ctx.files, receivedAt);
    } else if (type === 5) state.deferred = true;
    else
      state.final = toReply('callback', message ? String(message.id) : '', data ?? {}, ctx.files, receivedAt);
    if (!withResponse) return noContent;
    return ok({
      interaction: {
        id: state.id,
        type: state.type,
        response_message_id: message?.id ?? null,
        response_message_loading: type === 5,
        response_message_ephemeral: (flags & EPHEMERAL) !== 0,
      },
      resource: { type, ...(message ? { message } : {}) },
    });
  };
  route(
    'POST',
    re(`/interactions/${ID}/${TOKEN}/callback`),
    'POST /interactions/:id/:token/callback',
    interactionCallback,
    false,
  );

  const webhookState = (ctx: RouteContext): InteractionState | ApiError => {
    if (ctx.params[0] !== applicationId) return apiError(404, 'Unknown Webhook', 10015);
    const state = interactionsByToken.get(ctx.params[1] ?? '');
    return state ?? apiError(404, 'Unknown Webhook', 10015);
  };
  const editWebhookMessage = (ctx: RouteContext, messageRef: string): RouteResult | ApiError => {
    const state = webhookState(ctx);
    if ('status' in state) return state;
    const messageId =
      messageRef === '@original' ? (state.original ? String(state.original.id) : null) : messageRef;
    const previous = messageId ? state.messages.get(messageId) : undefined;
    if (!previous || !messageId) return apiError(404, 'Unknown Message', 10008);
    const body = isObject(ctx.body) ? ctx.body : {};
    const error = validateMessage(body, ctx.files, true);
    if (error) return error;
    const oldFlags = numOr(previous.flags, 0);
    const message = buildMessage({
      id: messageId,
      channelId: state.channelId,
      body,
      files: ctx.files,
      flags: oldFlags & ~LOADING,
      webhookId: applicationId,
      interaction: state,
      previous,
    });
    state.messages.set(messageId, message);
    if (messageRef === '@original' || messageId === state.original?.id) state.original = message;
    const reply = toReply('edit', messageId, body, ctx.files, Date.now(), numOr(message.flags, 0));
    state.edits.push(reply);
    if (state.deferred && !state.final && messageId === state.original?.id) state.final = reply;
    return ok(message);
  };
  route(
    'PATCH',
    re(`/webhooks/${ID}/${TOKEN}/messages/@original`),
    'PATCH /webhooks/:id/:token/messages/@original',
    (ctx) => editWebhookMessage(ctx, '@original'),
    false,
  );
  route(
    'PATCH',
    re(`/webhooks/${ID}/${TOKEN}/messages/${ID}`),
    'PATCH /webhooks/:id/:token/messages/:id',
    (ctx) => editWebhookMessage(ctx, ctx.params[2] ?? ''),
    false,
  );
  route(
    'GET',
    re(`/webhooks/${ID}/${TOKEN}/messages/(@original|\\d+)`),
    'GET /webhooks/:id/:token/messages/:id',
    (ctx) => {
      const state = webhookState(ctx);
      if ('status' in state) return state;
      const ref = ctx.params[2] ?? '';
      const message = ref === '@original' ? state.original : (state.messages.get(ref) ?? null);
      return message ? ok(message) : apiError(404, 'Unknown Message', 10008);
    },
    false,
  );
  route(
    'DELETE',
    re(`/webhooks/${ID}/${TOKEN}/messages/(@original|\\d+)`),
    'DELETE /webhooks/:id/:token/messages/:id',
    (ctx) => {
      const state = webhookState(ctx);
      if ('status' in state) return state;
      const ref = ctx.params[2] ?? '';
      const id = ref === '@original' ? (state.original ? String(state.original.id) : '') : ref;
      if (!state.messages.delete(id)) return apiError(404, 'Unknown Message', 10008);
      if (ref === '@original') state.original = null;
      return noContent;
    },
    false,
  );
  route(
    'POST',
    re(`/webhooks/${ID}/${TOKEN}`),
    'POST /webhooks/:id/:token',
    (ctx) => {
      const state = webhookState(ctx);
      if ('status' in state) return state;
      if (!state.acknowledged) return apiError(404, 'Unknown Webhook', 10015);
      const body = isObject(ctx.body) ? ctx.body : {};
      const error = validateMessage(body, ctx.files, false);
      if (error) return error;
      const receivedAt = Date.now();
      const flags = numOr(body.flags, 0) & EPHEMERAL;
      // Discord turns the first follow-up after a deferred reply into that reply.
      const replacesLoading = state.deferred && !state.final && state.original !== null;
      const previous = replacesLoading ? state.original : null;
      const id = previous ? String(previous.id) : snowflake();
      const message = buildMessage({
        id,
        channelId: state.channelId,
        body,
        files: ctx.files,
        flags: previous ? numOr(previous.flags, 0) & ~LOADING : flags,
        webhookId: applicationId,
        interaction: state,
        previous,
      });
      state.messages.set(id, message);
      const reply = toReply('followup', id, body, ctx.files, receivedAt, numOr(message.flags, 0));
      state.followUps.push(reply);
      if (replacesLoading) {
        state.original = message;
        state.final = reply;
      }
      return ctx.query.get('wait') === 'false' ? noContent : ok(message);
    },
    false,
  );

  // Attachments (served so bot code can download what it uploaded)
  const serveAttachment = (path: string, res: ServerResponse): boolean => {
    const file = attachmentsByPath.get(path);
    if (!file) return false;
    res.writeHead(200, { 'content-type': file.contentType || 'application/octet-stream' });
    res.end(file.data);
    return true;
  };

  // ---- HTTP dispatcher ----
  const rateLimitHeaders = (bucket: string): Record<string, string> => ({
    'x-ratelimit-bucket': bucket,
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '4',
    'x-ratelimit-reset': (Date.now() / 1000 + 1).toFixed(3),
    'x-ratelimit-reset-after': '1.000',
  });
  const bucketOf = (name: string): string => Buffer.from(name).toString('hex').slice(0, 32);

  const respond = (
    res: ServerResponse,
    record: RecordedRequest,
    result: RouteResult,
    bucket: string,
  ): void => {
    record.status = result.status;
    record.respondedAt = Date.now();
    if (res.destroyed) {
      notify();
      return;
    }
    const headers: Record<string, string> = {
      ...(result.status === 429 ? {} : rateLimitHeaders(bucket)),
      via: '1.1 fake-discord',
      ...(result.headers ?? {}),
    };
    if (result.status === 204 || result.body === undefined) {
      res.writeHead(result.status, headers);
      res.end();
    } else {
      res.writeHead(result.status, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(result.body));
    }
    notify();
  };

  const injected = (failure: InjectedResponse, bucket: string): RouteResult | null => {
    if ('delayMs' in failure || 'respondAfterMs' in failure) return null;
    if (failure.status === 429) {
      const retryAfter = failure.retryAfter;
      const global = failure.global === true;
      const headers: Record<string, string> = global
        ? { 'retry-after': String(retryAfter), 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' }
        : {
            'retry-after': String(retryAfter),
            'x-ratelimit-bucket': bucket,
            'x-ratelimit-limit': '5',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': (Date.now() / 1000 + retryAfter).toFixed(3),
            'x-ratelimit-reset-after': String(retryAfter),
            'x-ratelimit-scope': 'user',
          };
      return {
        status: 429,
        headers,
        body: {
          message: 'You are being rate limited.',
          retry_after: retryAfter,
          global,
          ...(global ? { code: 0 } : {}),
        },
      };
    }
    const defaults: Record<number, string> = {
      400: '400: Bad Request',
      401: '401: Unauthorized',
      403: '403: Forbidden',
      404: '404: Not Found',
      500: '500: Internal Server Error',
      502: '502: Bad Gateway',
      503: '503: Service Unavailable',
      504: '504: Gateway Timeout',
    };
    return {
      status: failure.status,
      body: failure.body ?? { message: defaults[failure.status] ?? 'Error', code: 0 },
    };
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const time = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', baseUrl);
    const versioned = /^\/api\/v10(\/.*)$/.exec(url.pathname);
    const rawPath = versioned?.[1] ?? url.pathname;
    // discord.js sends `@original` as `%40original`; Discord decodes path segments.
    const path = rawPath
      .split('/')
      .map((segment) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return segment;
        }
      })
      .join('/');
    const authorized = req.headers.authorization === `Bot ${token}`;
    const record: RecordedRequest = {
      method,
      path,
      query: url.search.replace(/^\?/, ''),
      time,
      respondedAt: 0,
      status: 0,
      route: null,
      injected: false,
      authorized,
      body: null,
      files: [],
    };
    requests.push(record);
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableEnded) clientGone = true;
    });
    const raw = await readBody(req);

    if (!versioned) {
      if (method === 'GET' && serveAttachment(url.pathname, res)) {
        record.route = 'GET /attachments';
        record.status = 200;
        record.respondedAt = Date.now();
        notify();
        return;
      }
      respond(res, record, { status: 404, body: { message: 'Unknown', code: 0 } }, 'none');
      return;
    }

    let parsed: ParsedBody;
    try {
      parsed = await parseBody(raw, req.headers['content-type']);
    } catch {
      respond(res, record, { status: 400, body: { message: '400: Bad Request', code: 50109 } }, 'none');
      return;
    }
    record.body = parsed.json;
    record.files = parsed.files;

    let matched: { def: RouteDef; params: string[] } | null = null;
    for (const def of [...customRoutes, ...routes]) {
      if (def.method !== method) continue;
      const m = def.pattern.exec(path);
      if (m) {
        matched = { def, params: m.slice(1).map((p) => p ?? '') };
        break;
      }
    }
    const bucket = bucketOf(matched?.def.name ?? path);
    if ((matched?.def.auth ?? true) && !authorized) {
      if (matched) record.route = matched.def.name;
      respond(res, record, { status: 401, body: { message: '401: Unauthorized', code: 0 } }, bucket);
      return;
    }

    const matches = (m: RequestMatcher): boolean =>
      (!m.method || m.method.toUpperCase() === method) && m.pathPattern.test(path);
    const window = failureWindows.find((w) => w.until > Date.now() && matches(w.matcher));
    if (window) {
      const result = injected(window.response, bucket);
      if (result) {
        record.injected = true;
        if (matched) record.route = matched.def.name;
        respond(res, record, result, bucket);
        return;
      }
    }
    let answerAfterMs = 0;
    const failureIndex = failures.findIndex(
      (f) =>
        (!f.matcher.method || f.matcher.method.toUpperCase() === method) && f.matcher.pathPattern.test(path),
    );
    if (failureIndex >= 0) {
      const [failure] = failures.splice(failureIndex, 1);
      if (failure) {
        if ('delayMs' in failure.response) {
          record.injected = true;
          await sleep(failure.response.delayMs);
          if (closed || clientGone || res.destroyed) {
            // The client gave up (REST timeout): like a lost request, it is not processed; status stays 0.
            record.respondedAt = Date.now();
            notify();
            return;
          }
        } else if ('respondAfterMs' in failure.response) {
          record.injected = true;
          answerAfterMs = failure.response.respondAfterMs;
        } else {
          const result = injected(failure.response, bucket);
          if (result) {
            record.injected = true;
            if (matched) record.route = matched.def.name;
            respond(res, record, result, bucket);
            return;
          }
        }
      }
    }

    if (!matched) {
      respond(res, record, { status: 404, body: { message: 'Unknown', code: 0 } }, bucket);
      return;
    }
    record.route = matched.def.name;
    const ctx: RouteContext = {
      method,
      path,
      params: matched.params,
      query: url.searchParams,
      headers: req.headers,
      body: parsed.json,
      files: parsed.files,
    };
    const result = await matched.def.handler(ctx, record);
    if (answerAfterMs > 0) {
      await sleep(answerAfterMs);
      if (closed || clientGone || res.destroyed) {
        // Done, but nobody is listening any more: the client timed out and may retry.
        record.status = result.status;
        record.respondedAt = Date.now();
        notify();
        return;
      }
    }
    respond(res, record, result, bucket);
  }

  // ---- interactions ----
  const clickButton = (input: ClickButtonOptions): InteractionHandle => {
    const message = channelMessages.get(input.messageId);
    if (!message) throw new Error(`fake-discord: no channel message ${input.messageId} to click on`);
    const { messageId: _m, customId: _c, ...who } = input;
    return sendCommand(
      { ...who, name: '', channelId: String(message.channel_id) },
      { custom_id: input.customId, message },
    );
  };

  const sendCommand = (
    input: SendCommandOptions,
    component?: { readonly custom_id: string; readonly message: JsonObject },
  ): InteractionHandle => {
    if (closed) throw new Error('fake-discord is closed');
    const live = [...sessions.values()].filter((s) => !s.invalidated);
    if (live.length === 0) throw new Error('fake-discord: no gateway session to deliver the interaction to');
    const kind = input.kind ?? 'command';
    const interactionType: 2 | 3 | 4 = component ? 3 : kind === 'autocomplete' ? 4 : 2;
    const userInput = input.user ?? { id: FAKE_DEFAULTS.userId, username: 'ana.finance', globalName: 'Ana' };
    const user = userObject(userInput, false);
    const memberRoles = input.roles ?? [];
    const inGuild = input.guildId !== null;
    const gid = input.guildId ?? guildId;
    const commandType = input.commandType ?? 1;
    const guildCommand = (commandStore.get(gid) ?? []).find(
      (c) => c.name === input.name && c.type === commandType,
    );
    const globalCommand = (commandStore.get('global') ?? []).find(
      (c) => c.name === input.name && c.type === commandType,
    );
    const registered = inGuild ? (guildCommand ?? globalCommand) : globalCommand;
    let commandId = input.commandId ?? registered?.id;
    if (!commandId) {
      const key = `unregistered:${commandType}:${input.name}`;
      commandId = commandIds.get(key) ?? snowflake();
      commandIds.set(key, commandId);
    }
    const id = snowflake();
    const token = Buffer.from(`interaction:${id}:${randomBytes(48).toString('base64url')}`).toString(
      'base64url',
    );
    const data: JsonObject = component
      ? { custom_id: component.custom_id, component_type: 2 }
      : {
          id: commandId,
          name: input.name,
          type: commandType,
          ...(input.options ? { options: input.options } : {}),
          ...(input.resolved ? { resolved: input.resolved } : {}),
          ...(registered && registered === guildCommand && inGuild ? { guild_id: gid } : {}),
        };
    const locale = input.locale ?? 'en-US';
    let channel: ChannelState;
    let payload: JsonObject;
    if (inGuild) {
      const found = findChannel(input.channelId ?? firstText.id);
      if (!found) throw new Error(`fake-discord: unknown channel ${input.channelId}`);
      channel = found;
      knownUsers.set(userInput.id, { user, roles: memberRoles });
      const memberPerms =
        input.permissions === undefined
          ? computePermissions(guild, userInput.id, memberRoles, channel)
          : toBigInt(input.permissions, 0n);
      payload = {
        app_permissions: botPermissionsIn(channel).toString(),
        application_id: applicationId,
        attachment_size_limit: MAX_UPLOAD_BYTES,
        authorizing_integration_owners: { '0': gid },
        channel: { ...channelObject(channel, true), permissions: memberPerms.toString() },
        channel_id: channel.id,
        context: 0,
        data,
        entitlement_sku_ids: [],
        entitlements: [],
        guild: { id: gid, locale: 'en-US', features: [] },
        guild_id: gid,
        guild_locale: 'en-US',
        id,
        locale,
        member: { ...memberObject(user, memberRoles), permissions: memberPerms.toString() },
        ...(component ? { message: component.message } : {}),
        token,
        type: interactionType,
        version: 1,
      };
    } else {
      const existing = input.channelId ? dmChannels.get(input.channelId) : undefined;
      channel = existing ?? newDmChannel(user, input.channelId);
      dmChannels.set(channel.id, channel);
      payload = {
        app_permissions: DM_APP_PERMISSIONS.toString(),
        application_id: applicationId,
        attachment_size_limit: MAX_UPLOAD_BYTES,
        authorizing_integration_owners: { '0': '0' },
        channel: channelObject(channel, false),
        channel_id: channel.id,
        context: 1,
        data,
        entitlement_sku_ids: [],
        entitlements: [],
        id,
        locale,
        token,
        type: interactionType,
        user,
        version: 1,
      };
    }
    const state: InteractionState = {
      id,
      token,
      type: interactionType,
      payload,
      createdAt: Date.now(),
      channelId: channel.id,
      guildId: inGuild ? gid : null,
      callback: null,
      acknowledged: false,
      deferred: false,
      original: null,
      final: null,
      refused: null,
      edits: [],
      followUps: [],
      messages: new Map(),
    };
    interactionsById.set(id, state);
    interactionsByToken.set(token, state);
    const label = component ? `button ${component.custom_id.slice(0, 40)} (${id})` : `/${input.name} (${id})`;
    const handle: InteractionHandle = {
      id,
      token,
      payload,
      arrivedAt: state.createdAt,
      callback: (timeoutMs = 5000) => waitFor(() => state.callback, timeoutMs, `the callback of ${label}`),
      final: (timeoutMs = 10_000) =>
        waitFor(
          () => {
            if (state.refused) throw new Error(`fake-discord: ${label} was refused: ${state.refused}`);
            return state.final;
          },
          timeoutMs,
          `the final reply of ${label}`,
        ),
      followUp: (index = 0, timeoutMs = 10_000) =>
        waitFor(() => state.followUps[index], timeoutMs, `follow-up #${index} of ${label}`),
      edits: state.edits,
      followUps: state.followUps,
    };
    handles.push(handle);
    dispatch('INTERACTION_CREATE', payload);
    return handle;
  };

  // ---- close ----
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const waiter of [...waiters]) waiter.reject(new Error('fake-discord was closed'));
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const socket of sockets) socket.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const fake: FakeDiscord = {
    baseUrl,
    apiUrl: `${baseUrl}/api`,
    token,
    applicationId,
    botUser,
    guildId,
    channelId: firstText.id,
    roleIds: roleIds as FakeDiscord['roleIds'],
    gateway,
    requests,
    messages,
    registrations,
    interactions: handles,
    commands: (scope) => commandStore.get(scope === 'global' ? 'global' : scope.guildId) ?? [],
    dispatch,
    dropGatewayConnection,
    sendCommand: (options) => sendCommand(options),
    clickButton,
    channelMessage: (messageId) => channelMessages.get(messageId) ?? null,
    failNext: (matcher, responses) => {
      for (const response of responses) failures.push({ matcher, response });
    },
    failFor: (matcher, response, durationMs) => {
      failureWindows.push({ matcher, response, until: Date.now() + durationMs });
    },
    addRoute: (method, pathPattern, handler, routeOptions) => {
      customRoutes.push({
        method: method.toUpperCase(),
        pattern: pathPattern,
        name: `${method.toUpperCase()} ${pathPattern.source}`,
        auth: routeOptions?.auth ?? true,
        handler,
      });
    },
    waitForMessage: (predicate = () => true, timeoutMs = 5000) =>
      waitFor(() => messages.find(predicate), timeoutMs, 'a channel message'),
    waitForRequest: (predicate, timeoutMs = 5000) =>
      waitFor(() => requests.find((r) => r.status !== 0 && predicate(r)), timeoutMs, 'a request'),
    waitFor,
    unknownRequests: () => requests.filter((r) => r.route === null && r.status === 404),
    close,
  };
  return fake;
}
