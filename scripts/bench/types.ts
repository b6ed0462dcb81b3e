/** One line of the benchmark table. */
export interface BenchRow {
  readonly metric: string;
  readonly value: string;
  readonly target: string;
  readonly pass: boolean;
}
