import { createHash } from 'node:crypto';
import { accountDisplay } from '../../core/accounts.js';
import type { AlertState } from '../../core/alerts/engine.js';
import { formatRunway } from '../../core/forecast.js';
import { estimateAge, formatDuration, formatUtc } from '../../core/format.js';
import { formatMoney } from '../../core/money.js';
import type { AccountStatus, StatusData } from './status.js';
import type { Telemetry } from './telemetry.js';

/**
 * Light and dark by `prefers-color-scheme`; every text colour is at least 4.5:1 on its background (the
 * badge colours on their tints included). Nothing is wider than the viewport: cards wrap, long words break.
 */
const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#16181d;--muted:#4a4f59;--line:#d5d8de;
--ok:#0b6b30;--ok-bg:#e6f4ea;--low:#8a4500;--low-bg:#fff1dc;--bad:#a3142c;--bad-bg:#fdeaed;--none:#4a4f59;--none-bg:#eceef1}
@media (prefers-color-scheme:dark){:root{--bg:#111317;--card:#1b1e24;--fg:#eceef2;--muted:#b4b9c3;--line:#343944;
--ok:#86e0a4;--ok-bg:#14301f;--low:#ffc56e;--low-bg:#3a2a10;--bad:#ff9eae;--bad-bg:#3c1820;--none:#c3c7cf;--none-bg:#2a2e36}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;overflow-wrap:anywhere}
header,main,footer{max-width:72rem;margin:0 auto;padding:1rem}
header p,footer p{margin:.25rem 0;color:var(--muted)}
h1{font-size:1.5rem;margin:0}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
h3{font-size:1.05rem;margin:0}
.cards{display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,19rem),1fr));padding:0;margin:0;list-style:none}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:1rem}
.card-head{display:flex;justify-content:space-between;gap:.5rem;align-items:baseline;flex-wrap:wrap}
.figure{font-size:1.6rem;font-weight:700;margin:.25rem 0}
dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem}
dt{color:var(--muted)}dd{margin:0}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:1rem;font-weight:700;font-size:.9rem;border:1px solid currentColor}
.s-ok{color:var(--ok);background:var(--ok-bg)}.s-low{color:var(--low);background:var(--low-bg)}
.s-failed{color:var(--bad);background:var(--bad-bg)}.s-unchecked{color:var(--none);background:var(--none-bg)}
figure{margin:0 0 1rem;background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.5rem}
figure img{display:block;width:100%;height:auto}
figcaption{color:#4a4f59;font-size:.9rem}
ul.plain{padding-left:1.2rem;margin:.25rem 0}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.muted{color:var(--muted)}
a{color:inherit}
`;

/** The style's hash, for the Content-Security-Policy (no inline style but this one, no script at all). */
export const STYLE_HASH = `sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}`;
export const PAGE_CSP = `default-src 'none'; img-src 'self'; style-src '${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** Text for HTML: `&`, `<`, `>`, `"` and `'` escaped, so provider reasons and names can't become markup. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STATE_WORD = { ok: 'OK', low: 'Low', failed: 'Check failed', unchecked: 'Not checked yet' } as const;

function time(at: Date): string {
  return `<time datetime="${at.toISOString()}">${escapeHtml(formatUtc(at))}</time>`;
}

function ago(at: Date, now: Date): string {
  return `${escapeHtml(formatDuration(now.getTime() - at.getTime()))} ago`;
}

function alertLine(s: AlertState | null): string | null {
  if (!s || s.state === 'ok' || s.state === 'unknown') return null;
  const word = { low: 'low', critical: 'critically low', stale: 'stale', failing: 'check failing' }[s.state];
  return `${word} since ${time(new Date(s.since))}`;
}

function card(a: AccountStatus, now: Date): string {
  const rows: [string, string][] = [];
  const c = a.check as {
    available?: string;
    threshold: string;
    asOf?: string | null;
    ageSeconds?: number | null;
    stale?: boolean;
    reason?: string;
    note?: string;
    estimate?: { anchorAt: string };
  } | null;
  const money = (text: string) => escapeHtml(formatMoney(Number(text), a.currency, { grouped: true }));
  let figure = '—';
  // An estimate (Claude with an Admin key) is marked as one here too, as in every message.
  if (c?.available !== undefined) figure = `${c.estimate ? '≈ ' : ''}${money(c.available)}`;
  if (c) rows.push(['Threshold', money(c.threshold)]);
  if (c?.available !== undefined && c.estimate) {
    rows.push(['Reading', escapeHtml(estimateAge(new Date(c.estimate.anchorAt), now))]);
  } else if (c?.available !== undefined) {
    const age =
      c.ageSeconds == null ? 'unknown age' : `${escapeHtml(formatDuration(c.ageSeconds * 1000))} old`;
    rows.push(['Reading', `${age}${c.stale ? ' (stale)' : ''}`]);
  }
  // What the figure rests on: the estimate's anchor, a budget's month, the table figure's fallback reason.
  if (c?.available !== undefined && c.note) rows.push([c.estimate ? 'Estimate' : 'Note', escapeHtml(c.note)]);
  if (a.forecast) {
    // formatRunway dates each line it reaches: `threshold in 27 d (~…) · ¥0 in 27 d (~2026-12-29 15:43 UTC)`.
    rows.push(['Runway', escapeHtml(formatRunway(a.forecast, a.currency, now))]);
  }
  if (c?.reason !== undefined) rows.push(['Failure', escapeHtml(c.reason)]);
  else if (a.lastFailure)
    rows.push(['Last failure', `${ago(a.lastFailure.at, now)}: ${escapeHtml(a.lastFailure.reason)}`]);
  const alert = alertLine(a.alert);
  if (alert) rows.push(['Alert', alert]);
  if (a.lastSuccessAt) rows.push(['Checked', ago(a.lastSuccessAt, now)]);
  const id = `acct-${a.account.replace(/[^a-z0-9-]/gi, '-')}`;
  return `<li class="card" aria-labelledby="${id}">
<div class="card-head"><h3 id="${id}">${escapeHtml(a.label)}</h3><span class="badge s-${a.state}">${STATE_WORD[a.state]}</span></div>
<p class="figure" data-account="${escapeHtml(a.account)}">${figure}</p>
<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
</li>`;
}

function section(id: string, title: string, body: string): string {
  return `<section aria-labelledby="${id}"><h2 id="${id}">${title}</h2>${body}</section>`;
}

/** The status page: server-rendered, readable without JavaScript (it has none), reloads itself every 60 s. */
export function renderPage(data: StatusData, telemetry: Telemetry, chartUrl: (c: string) => string): string {
  const now = data.generatedAt;
  const checked = data.summary
    ? `Last check ${time(data.summary.checkedAt)} (${ago(data.summary.checkedAt, now)}).`
    : 'No check has finished since the bot started.';
  const next = data.nextCheckAt ? ` Next check ${time(data.nextCheckAt)}.` : '';
  const cards = `<ul class="cards">${data.accounts.map((a) => card(a, now)).join('\n')}</ul>`;
  const charts = data.currencies
    .map(
      (c) =>
        `<figure><img src="${escapeHtml(chartUrl(c))}" width="800" height="400" alt="Balance of every ${escapeHtml(c)} account over the last 30 days, with thresholds"><figcaption>${escapeHtml(c)} accounts, last 30 days (UTC)</figcaption></figure>`,
    )
    .join('\n');
  const open = data.accounts
    .map((a) => [a, alertLine(a.alert)] as const)
    .filter(([, line]) => line !== null)
    .map(([a, line]) => `<li>${escapeHtml(a.label)}: ${line}</li>`);
  const recent = telemetry.alerts.map(
    (e) =>
      `<li>${time(e.at)} · ${escapeHtml(accountDisplay(e.provider).label)} · ${escapeHtml(e.kind)} · ${
        e.delivered.length > 0 ? `sent to ${escapeHtml(e.delivered.join(', '))}` : 'delivered by no channel'
      }${e.failed.length > 0 ? ` (failed: ${escapeHtml(e.failed.join(', '))})` : ''}</li>`,
  );
  const alerts = `<h3>Open</h3>${open.length > 0 ? `<ul class="plain">${open.join('')}</ul>` : '<p>None.</p>'}
<h3>Last ${recent.length > 0 ? recent.length : ''} alerts sent since start</h3>${
    recent.length > 0 ? `<ul class="plain">${recent.join('')}</ul>` : '<p>None since the bot started.</p>'
  }`;
  const changes =
    data.thresholdChanges === null
      ? '<p>The store did not answer; threshold changes are not available right now.</p>'
      : data.thresholdChanges.length === 0
        ? '<p>None.</p>'
        : `<table><thead><tr><th scope="col">When</th><th scope="col">Account</th><th scope="col">Change</th></tr></thead><tbody>${data.thresholdChanges
            .map((c) => {
              const currency = data.accounts.find((a) => a.provider === c.provider)?.currency ?? 'USD';
              const v = (x: typeof c.oldValue) =>
                x === null ? 'default' : escapeHtml(formatMoney(x, currency));
              return `<tr><td>${time(c.changedAt)}</td><td>${escapeHtml(accountDisplay(c.provider).label)}</td><td>${v(c.oldValue)} → ${v(c.newValue)}</td></tr>`;
            })
            .join('')}</tbody></table>`;
  const post = telemetry.posts[0];
  const posts = post
    ? `<p>Last summary ${post.ok ? 'posted' : '<strong>not posted</strong>'} ${time(post.at)} (${ago(post.at, now)})${
        post.reason ? `: ${escapeHtml(post.reason)}` : ''
      }.</p>`
    : '<p>No summary posted since the bot started.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<meta name="color-scheme" content="light dark">
<title>creditwatch status</title>
<style>${CSS}</style>
</head>
<body>
<header aria-label="Page header"><h1>creditwatch status</h1><p>${checked}${next} This page reloads every minute.</p></header>
<main aria-label="Balances">
${section('accounts', 'Accounts', cards)}
${section('charts', 'Last 30 days', charts || '<p>No account to chart.</p>')}
${section('alerts', 'Alerts', alerts)}
${section('thresholds', 'Threshold changes', changes)}
${section('posts', 'Summary posts', posts)}
</main>
<footer aria-label="About"><p>Page generated ${time(now)}. Times are UTC.</p></footer>
</body>
</html>
`;
}
