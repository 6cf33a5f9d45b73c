// progress.html: one self-contained page a migration lead shows in a meeting, drawn from the
// same ProgressReport as progress.json: the share migrated against the 95 % target, cumulative
// migrations per day with the projection, leavers, and the long tail by group and by container.
// Inline CSS and SVG only: no script, font or image is fetched, so it works offline and from a
// file share. Every string that comes from the directory or Auth0 (group names, DNs, the
// connection's name) is escaped: a group called `<script>` shows as text. Each figure carries
// data-figure and data-value (the raw number of progress.json) so a test can read the page back.
import { type DayRow, MIN_HISTORY_DAYS, PACE_WINDOW_DAYS, type ProgressReport, type TailRow } from './progress.ts';

/** Rows of each long-tail table on the page (progress.json has them all). */
export const TAIL_ROWS_SHOWN = 15;

export function renderProgressPage(report: ProgressReport): string {
  const { counts } = report;
  const active = counts.migrated + counts.notMigrated;
  const title = `Migration progress: ${report.connection}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Directory against Auth0, ${escapeHtml(report.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</p>
</header>
<section class="tiles">
${tile('share', report.share, report.share === null ? 'n/a' : percent(report.share), 'migrated', `${number(counts.migrated)} of ${number(active)} active directory users`)}
${tile('migrated', counts.migrated, number(counts.migrated), 'in Auth0', 'active in the directory and in Auth0')}
${tile('notMigrated', counts.notMigrated, number(counts.notMigrated), 'not migrated yet', 'the final bulk import takes them (not-migrated.json)')}
${tile('leavers', counts.leavers, number(counts.leavers), 'leavers in Auth0', `${number(report.leavers.disabled)} disabled, ${number(report.leavers.expired)} expired, ${number(report.leavers.gone)} gone; ${number(report.leavers.blocked)} blocked`)}
</section>
${shareBar(report)}
<section>
<h2>Migrations per day</h2>
${chart(report)}
<p data-figure="projection" data-value="${escapeHtml(report.projection.status)}">${projectionSentence(report)}</p>
</section>
<section class="columns">
${tailTable('byGroup', 'Long tail by group', 'Group', report.longTail.byGroup, '(no group)')}
${tailTable('byContainer', 'Long tail by container (OU)', 'Container', report.longTail.byContainer, '(top of the tree)')}
</section>
<section>
<h2>Leavers</h2>
<p>Users Auth0 still has whose directory account is disabled, expired or gone. Once migrated, Auth0 no longer asks the directory: <code>auth0-ldap-bridge sync-leavers</code> blocks them.</p>
<table class="small">
<tr><th>disabled</th><th>expired</th><th>gone</th><th>of them blocked</th></tr>
<tr><td data-figure="leavers.disabled" data-value="${report.leavers.disabled}">${number(report.leavers.disabled)}</td><td data-figure="leavers.expired" data-value="${report.leavers.expired}">${number(report.leavers.expired)}</td><td data-figure="leavers.gone" data-value="${report.leavers.gone}">${number(report.leavers.gone)}</td><td data-figure="leavers.blocked" data-value="${report.leavers.blocked}">${number(report.leavers.blocked)}</td></tr>
</table>
</section>
<footer class="muted">
${footnotes(report)}
</footer>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dee8; --accent: #2457c5; --good: #1f8a4c; --warn: #b3541e; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; }
.muted { color: var(--muted); font-size: 14px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 16px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.tile .figure { font-size: 34px; font-weight: 650; display: block; }
.tile .label { font-weight: 600; }
.tile .note { color: var(--muted); font-size: 13px; display: block; }
.bar { position: relative; height: 22px; background: #edf0f5; border-radius: 11px; margin: 18px 0 4px; overflow: visible; }
.bar .done { height: 100%; background: var(--accent); border-radius: 11px; }
.bar .target { position: absolute; top: -5px; bottom: -5px; width: 2px; background: var(--good); }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { word-break: break-word; }
table.small { width: auto; }
.mini { display: inline-block; width: 60px; height: 8px; background: #edf0f5; border-radius: 4px; vertical-align: middle; }
.mini span { display: block; height: 100%; background: var(--accent); border-radius: 4px; }
svg { width: 100%; height: auto; }
svg text { font: 12px system-ui, sans-serif; fill: var(--muted); }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print { body { padding: 0; } }
`;

function tile(figure: string, value: number | null, shown: string, label: string, note: string): string {
  return `<div class="tile"><span class="figure" data-figure="${figure}" data-value="${value === null ? '' : value}">${escapeHtml(shown)}</span><span class="label">${escapeHtml(label)}</span><span class="note">${escapeHtml(note)}</span></div>`;
}

function shareBar(report: ProgressReport): string {
  const share = report.share ?? 0;
  const target = report.projection.target;
  return `<div class="bar" role="img" aria-label="${escapeHtml(`${percent(share)} migrated, target ${percent(target)}`)}"><div class="done" style="width:${(share * 100).toFixed(2)}%"></div><div class="target" style="left:${(target * 100).toFixed(2)}%"></div></div>
<p class="muted">Target: ${percent(target)} of the active directory users (<span data-figure="targetUsers" data-value="${report.projection.targetUsers}">${number(report.projection.targetUsers)}</span>) in Auth0.</p>`;
}

const DAY_MS = 86_400_000;
const CHART = { width: 760, height: 260, left: 56, right: 16, top: 14, bottom: 34 };

/** The cumulative migrations as a step line, the 95 % target, and the projection as a dashed line. */
function chart(report: ProgressReport): string {
  const days: readonly DayRow[] = report.perDay;
  const first = days[0];
  if (first === undefined) return '<p class="muted">No migration with a creation date yet.</p>';
  const today = dayNumber(report.generatedAt.slice(0, 10));
  const projection = report.projection;
  const start = dayNumber(first.date);
  const end = Math.max(today, projection.status === 'projected' ? dayNumber(projection.reachesOn) : today, start + 1);
  const active = report.counts.migrated + report.counts.notMigrated;
  const top = Math.max(active, days.at(-1)?.cumulative ?? 0, 1);
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const x = (day: number) => CHART.left + ((day - start) / (end - start)) * plotWidth;
  const y = (count: number) => CHART.top + plotHeight - (count / top) * plotHeight;
  const points: string[] = [`M${x(start).toFixed(1)},${y(0).toFixed(1)}`];
  for (const row of days) {
    points.push(`H${x(dayNumber(row.date)).toFixed(1)}`, `V${y(row.cumulative).toFixed(1)}`);
  }
  points.push(`H${x(today).toFixed(1)}`);
  const last = days.at(-1)?.cumulative ?? 0;
  const parts = [
    `<line x1="${CHART.left}" y1="${y(0)}" x2="${CHART.width - CHART.right}" y2="${y(0)}" stroke="#9aa3b5"/>`,
    `<line x1="${CHART.left}" y1="${CHART.top}" x2="${CHART.left}" y2="${y(0)}" stroke="#9aa3b5"/>`,
    `<line x1="${CHART.left}" y1="${y(projection.targetUsers).toFixed(1)}" x2="${CHART.width - CHART.right}" y2="${y(projection.targetUsers).toFixed(1)}" stroke="#1f8a4c" stroke-dasharray="6 4"/>`,
    `<text x="${CHART.width - CHART.right}" y="${(y(projection.targetUsers) - 4).toFixed(1)}" text-anchor="end">${percent(projection.target)} (${number(projection.targetUsers)})</text>`,
    `<path d="${points.join(' ')}" fill="none" stroke="#2457c5" stroke-width="2.5"/>`,
    `<text x="${CHART.left - 6}" y="${y(0) + 4}" text-anchor="end">0</text>`,
    `<text x="${CHART.left - 6}" y="${(y(top) + 4).toFixed(1)}" text-anchor="end">${number(top)}</text>`,
    `<text x="${CHART.left}" y="${CHART.height - 10}" text-anchor="start">${escapeHtml(first.date)}</text>`,
    `<text x="${x(today).toFixed(1)}" y="${CHART.height - 10}" text-anchor="${projection.status === 'projected' ? 'middle' : 'end'}">today</text>`,
  ];
  if (projection.status === 'projected') {
    parts.push(
      `<line x1="${x(today).toFixed(1)}" y1="${y(last).toFixed(1)}" x2="${x(dayNumber(projection.reachesOn)).toFixed(1)}" y2="${y(projection.targetUsers).toFixed(1)}" stroke="#b3541e" stroke-width="2" stroke-dasharray="4 4"/>`,
      `<text x="${CHART.width - CHART.right}" y="${CHART.height - 10}" text-anchor="end">${escapeHtml(projection.reachesOn)}</text>`,
    );
  }
  const label = `Cumulative migrations from ${first.date}: ${last} by today`;
  return `<svg viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="${escapeHtml(label)}" data-figure="chart" data-value="${last}">${parts.join('')}</svg>`;
}

function projectionSentence(report: ProgressReport): string {
  const projection = report.projection;
  switch (projection.status) {
    case 'reached':
      return `${percent(projection.target)} is reached${projection.reachedOn ? ` (on ${escapeHtml(projection.reachedOn)})` : ''}: the long tail can go in with the final bulk import.`;
    case 'projected':
      return `At the pace of the last ${projection.windowDays} days (<span data-figure="pacePerDay" data-value="${projection.pacePerDay}">${projection.pacePerDay >= 10 ? number(Math.round(projection.pacePerDay)) : projection.pacePerDay.toFixed(1)}</span> a day), ${percent(projection.target)} is reached on <strong data-figure="reachesOn" data-value="${escapeHtml(projection.reachesOn)}">${escapeHtml(projection.reachesOn)}</strong>.`;
    case 'stalled':
      return `No migration in the last ${projection.windowDays} days: at this pace ${percent(projection.target)} is never reached. Time for the final bulk import of the long tail?`;
    case 'not_enough_data':
      return `No projection yet: ${escapeHtml(projection.explanation)}.`;
  }
}

function tailTable(figure: string, heading: string, column: string, rows: readonly TailRow[], noName: string): string {
  const shown = rows.filter((row) => row.notMigrated > 0).slice(0, TAIL_ROWS_SHOWN);
  const body =
    shown.length === 0
      ? '<tr><td colspan="3" class="muted">Nobody is left to migrate.</td></tr>'
      : shown
          .map((row) => {
            const migrated = row.total === 0 ? 0 : (row.total - row.notMigrated) / row.total;
            const name = row.name === null ? `<em>${noName}</em>` : escapeHtml(row.name);
            return `<tr><td class="name">${name}</td><td class="n" data-figure="${figure}.notMigrated" data-value="${row.notMigrated}">${number(row.notMigrated)}</td><td class="n">${number(row.total)} <span class="mini" title="${percent(migrated)} migrated"><span style="width:${(migrated * 100).toFixed(1)}%"></span></span></td></tr>`;
          })
          .join('\n');
  const more = rows.filter((row) => row.notMigrated > 0).length - shown.length;
  return `<div><h2>${heading}</h2><table data-figure="${figure}">
<tr><th>${column}</th><th class="n">not migrated</th><th class="n">users</th></tr>
${body}
</table>${more > 0 ? `<p class="muted">${number(more)} more in progress.json.</p>` : ''}</div>`;
}

function footnotes(report: ProgressReport): string {
  const notes = [
    `Counted: ${number(report.counts.directory)} directory entries read; ${number(report.counts.auth0Users)} users of the connection in Auth0; ${number(report.counts.inactive)} disabled or expired entries that never migrated (they stay out); ${number(report.counts.unmappable)} entries without a stable identifier.`,
    `A migration's day is the day Auth0 created the user (created_at, UTC). The projection divides the users still missing to ${percent(report.projection.target)} by the migrations per day of the last ${PACE_WINDOW_DAYS} days (fewer when the first migration is more recent); it needs at least ${MIN_HISTORY_DAYS} days since the first migration.`,
  ];
  if (report.problems.withoutCreatedAt > 0)
    notes.push(
      `${number(report.problems.withoutCreatedAt)} migrated users have no creation date: counted, but on no day.`,
    );
  const ignored = report.problems.ignoredAuth0Rows;
  const ignoredCount =
    ignored.otherConnection +
    ignored.notDatabaseUsers.length +
    ignored.notFromDirectory.length +
    ignored.duplicates.length +
    ignored.malformed;
  if (ignoredCount > 0)
    notes.push(
      `${number(ignoredCount)} rows of Auth0's export were left out (see problems.ignoredAuth0Rows in progress.json).`,
    );
  if (report.problems.duplicateDirectoryIds.length > 0)
    notes.push(
      `${number(report.problems.duplicateDirectoryIds.length)} user_ids belong to more than one directory entry (see progress.json).`,
    );
  return notes.map((note) => `<p>${escapeHtml(note)}</p>`).join('\n');
}

function dayNumber(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

function number(value: number): string {
  return value.toLocaleString('en-US');
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

/** Text and attribute values: the five characters HTML gives meaning to. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
