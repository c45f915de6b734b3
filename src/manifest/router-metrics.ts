/** The metrics the embedded router measures per pool (provider: router). No zod here: the agent on a host loads this without the schema. */
export const ROUTER_METRICS = ['error_rate', 'success_rate', 'request_count', 'request_rate', 'latency_mean_ms', 'latency_p50_ms', 'latency_p90_ms', 'latency_p95_ms', 'latency_p99_ms'] as const;
