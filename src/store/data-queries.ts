/**
 * The read side of the data module and of /metrics: summaries and daily series of the landed
 * data, served from the rollup tables `commitBatch` maintains (the landed tables keep no
 * secondary index). A small port beside the Store, in the same database.
 */
import type {
  ActionSeriesQuery,
  ActionSummary,
  CompanyPage,
  DimensionDataPoint,
  DimensionDataQuery,
  EnduserPage,
  MetricSeriesQuery,
  MetricSummary,
  PageQuery,
  Series,
} from '../core/api.js';

/** Per section and run status: what /metrics reports. */
export interface RunTotals {
  sectionId: number;
  status: 'running' | 'succeeded' | 'failed';
  runs: number;
  rowsRead: number;
  landed: number;
  rejected: number;
  /** Latest finish time among these runs (ISO-8601), null when none finished. */
  lastFinishedAt: string | null;
}

export interface DataQueries {
  metrics(): Promise<MetricSummary[]>;
  metricSeries(dimensionId: string, query: MetricSeriesQuery): Promise<Series['points']>;
  actions(): Promise<ActionSummary[]>;
  /**
   * Weighted count per day of an action (null: activities without one). With `externalId` (an
   * enduser's externalId, or its email when it has none) the landed activities are scanned:
   * there is no per-enduser daily rollup, so this costs a pass over the section's rows.
   */
  actionSeries(action: string | null, query: ActionSeriesQuery): Promise<Series['points']>;
  endusers(query: PageQuery): Promise<EnduserPage>;
  companies(query: PageQuery): Promise<CompanyPage>;
  runTotals(): Promise<RunTotals[]>;
  /**
   * Stored metric points, pulled and pushed, by date then landing order (`GET /dimensiondata`).
   * The landed table has no secondary index: this scans it.
   */
  dimensionData(query: DimensionDataQuery): Promise<DimensionDataPoint[]>;
}
