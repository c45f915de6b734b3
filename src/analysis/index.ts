// Canary analysis: metric providers (router, prometheus, http, command) and judges (threshold,
// mann-whitney). A library: it knows nothing of steps or the CLI.
export { CanaryAnalysis, intervalVerdict, summarize, type AnalysisSubjects } from './analysis.js';
export { runShellCommand } from './command-provider.js';
export { mannWhitneyGreater, normalSf, subsample, type MannWhitneyResult } from './mann-whitney.js';
export type { AnalysisDeps, CommandOptions, CommandResult, IntervalResult, Measurement, MetricResult, RouterSource, Subject, Verdict } from './types.js';
