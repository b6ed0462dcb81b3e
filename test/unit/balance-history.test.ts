import { describe, expect, it } from 'vitest';
import { chartWindow } from '../../src/adapters/chart/series.js';
import { parsePeriod } from '../../src/adapters/discord/commands/balance-history.js';
import { UserError } from '../../src/adapters/discord/errors.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const DAY = 86_400_000;
const series = (projectionEndDays?: number) => ({
  label: 'Kimi',
  points: [{ at: new Date(NOW.getTime() - DAY), value: 10 }],
  threshold: 5,
  ...(projectionEndDays === undefined
    ? {}
    : {
        projection: [
          { at: NOW, value: 10 },
          { at: new Date(NOW.getTime() + projectionEndDays * DAY), value: 5 },
        ],
      }),
});

describe('/balance-history chart window', () => {
  it('GIVEN no projection THEN the axis is exactly the period up to now', () => {
    expect(chartWindow([series()], '7d', NOW)).toEqual({ from: new Date(NOW.getTime() - 7 * DAY), to: NOW });
  });

  it('GIVEN a projection 3 days out THEN the axis reaches it, so the dashed line meets the threshold on the chart', () => {
    expect(chartWindow([series(), series(3)], '7d', NOW).to).toEqual(new Date(NOW.getTime() + 3 * DAY));
  });

  it('GIVEN a projection far beyond the period THEN the axis stops one period ahead', () => {
    expect(chartWindow([series(400)], '24h', NOW).to).toEqual(new Date(NOW.getTime() + DAY));
  });
});

describe('/balance-history period option', () => {
  it('GIVEN a period named after a property every object has THEN it is refused, the real ones are read', () => {
    for (const crafted of ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty']) {
      expect(() => parsePeriod(crafted), crafted).toThrow(UserError);
    }
    expect(['24h', '7d', '30d', '90d'].map(parsePeriod)).toEqual(['24h', '7d', '30d', '90d']);
  });
});
