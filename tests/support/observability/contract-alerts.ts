/**
 * The alert names the service promises, written out by hand (not read from observability/), so the
 * tests that compare the rules with it can fail.
 */
/** The heartbeat that always fires (Alertmanager's dead man's switch). */
export const watchdogAlert = "Watchdog";

// SLO burn rates, symptoms, data stores, AI spend, the heartbeat.
export const contractAlerts = [
  "ParleyAvailabilityBudgetBurn",
  "ParleyLatencyBudgetBurn",
  "ParleyHighErrorRate",
  "ParleyHighLatencyP95",
  "ParleyAISlow",
  "ParleyDBPoolSaturated",
  "ParleyReplicaLagHigh",
  "ParleyCacheHitRateLow",
  "ParleyCircuitOpen",
  "ParleyTargetDown",
  "ParleyPodCPUHigh",
  "ParleyPodMemoryHigh",
  "ParleyHPAMaxedOut",
  "ParleyNodeDiskLow",
  "ParleyAISpendOverBudget",
  "ParleyNoReplicasAvailable",
  "ParleyReplicaLagUnknown",
  "ParleyPostgresUnreachable",
  "ParleyPostgresConnectionsHigh",
  "ParleyRedisUnreachable",
  "ParleyRedisMemoryHigh",
  "ParleyRedisEvicting",
  "ParleyRDSReplicaLagHigh",
  "ParleyRDSCPUHigh",
  watchdogAlert,
];
