// npm run estimate:backtest: how close the gateway's wait estimates come to
// the waits that followed. Replays histories (generated days by default,
// or a real database's case_events with --database-url) and prints, per
// estimator, the mean absolute error, its 90th percentile and how often
// the range held the actual wait. docs/estimates.md has a run and reads it.
import { parseArgs } from 'node:util';
import { estimateWait, hourlyCallRateEstimate } from '../src/queue/wait-estimate.js';
import { databaseHistories } from './estimates/database-history.js';
import { realisticDay, type History } from './estimates/realistic-days.js';
import { replay, score, type Estimator, type Outcome, type Score } from './estimates/replay.js';

/** The targets of issue 21: the new estimate halves today's error; its range holds 3 waits in 5. */
const TARGET_ERROR_RATIO = 0.5;
const TARGET_WITHIN_RANGE = 0.6;

const ESTIMATORS: readonly Estimator[] = [
  {
    name: 'hourly call rate (before)',
    guess: (position, _sample, callsInLastHour) => {
      const seconds = hourlyCallRateEstimate(position, callsInLastHour);
      return seconds === null ? null : { seconds };
    },
  },
  { name: 'agents and recent cases (now)', guess: (position, sample) => estimateWait(position, sample) },
];

const usage = `usage: npm run estimate:backtest -- [--seeds 1-20] [--database-url postgresql://...]
  --seeds         generated days to replay: a range (1-20) or a list (1,5,9); default 1-20
  --database-url  replay every service of this database's case_events instead`;

function seedsOf(text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    return Array.from({ length: Math.max(0, to - from + 1) }, (_unused, index) => from + index);
  }
  const list = text.split(',').map(Number);
  if (list.some((seed) => !Number.isInteger(seed) || seed < 0))
    throw new Error(`--seeds: not a range or a list: ${text}`);
  return list;
}

const seconds = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(0));
const percent = (value: number | null) => (value === null ? '–' : `${(value * 100).toFixed(0)} %`);

function table(scores: readonly Score[]): string {
  const header =
    '| estimator | cases | answered | mean abs. error (s) | 90th pct. abs. error (s) | wait within range |';
  const rule = '| --- | ---: | ---: | ---: | ---: | ---: |';
  const rows = scores.map(
    (each) =>
      `| ${each.estimator} | ${each.cases} | ${percent(each.answered)} | ${seconds(each.meanAbsoluteError)} | ${seconds(each.p90AbsoluteError)} | ${percent(each.withinRange)} |`,
  );
  return [header, rule, ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1-20' },
      'database-url': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const databaseUrl = values['database-url'];
  const histories: History[] =
    databaseUrl === undefined
      ? seedsOf(values.seeds).map((seed) => realisticDay(seed))
      : await databaseHistories(databaseUrl);
  const outcomes: Outcome[] = [];
  for (const history of histories) {
    const own = replay(history, ESTIMATORS);
    outcomes.push(...own);
    const [before, now] = ESTIMATORS.map((estimator) => score(estimator.name, own));
    console.log(
      `${history.name}: ${before?.cases ?? 0} waits; mean abs. error ${seconds(before?.meanAbsoluteError ?? NaN)} s before, ${seconds(now?.meanAbsoluteError ?? NaN)} s now`,
    );
  }
  const scores = ESTIMATORS.map((estimator) => score(estimator.name, outcomes));
  const [before, now] = scores;
  console.log(
    `\nAll ${histories.length} histories (${databaseUrl === undefined ? `generated days, seeds ${values.seeds}` : 'case_events'}):\n`,
  );
  console.log(table(scores));
  if (!before || !now) return;
  const ratio = now.meanAbsoluteError / before.meanAbsoluteError;
  console.log(
    `\n- mean abs. error, now ÷ before: ${ratio.toFixed(2)}× (target ≤ ${TARGET_ERROR_RATIO}×: ${ratio <= TARGET_ERROR_RATIO ? 'met' : 'not met'})`,
  );
  console.log(
    `- waits within the range: ${percent(now.withinRange)} (target ≥ ${percent(TARGET_WITHIN_RANGE)}: ${(now.withinRange ?? 0) >= TARGET_WITHIN_RANGE ? 'met' : 'not met'})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
