/** The scaling policy as code: the per-stack policy and everything derived from it. */
export * from "./capacity";
export {
  type CostEstimate,
  type CostLine,
  type CostOptions,
  type CostScale,
  costScales,
  estimateMonthlyCost,
} from "./cost";
export { dbPoolEnv, rdsInstanceClassMemoryGiB, rdsMaxConnections } from "./database";
export {
  assertScalingInvariants,
  checkScalingInvariants,
  type PodSubnet,
  type ScalingContext,
  subnetIpCapacity,
  type Violation,
} from "./invariants";
export { type KarpenterNodePoolSpec, karpenterNodePoolSpec } from "./karpenter";
export {
  type ContainerResources,
  containerResources,
  type HpaSpec,
  hpaSpec,
  type PdbSpec,
  pdbSpec,
} from "./kubernetes";
export * from "./policy";
export { defaultPriceRegion, type PriceTable, priceTableFor } from "./pricing";
export { type RunSummary, summarize, type Verdict, verdict } from "./simulator/evaluate";
export { type Scenario, type ScenarioName, scenario, scenarioNames } from "./simulator/scenarios";
export { type Sample, type SimulationResult, simulate } from "./simulator/simulate";
