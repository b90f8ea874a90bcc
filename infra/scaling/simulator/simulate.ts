/**
 * The scaling simulator: offered load → pods serving it → the HPA's view of their metrics →
 * replicas → pods scheduled on nodes, with Karpenter launching nodes when pods do not fit and
 * consolidating them when they empty. A fixed time step; the HPA reconciles every 15 s.
 */
import {
  maxModelledLatencyMs,
  podP95LatencyMs,
  podServiceRate,
  replicasForSlo,
  requestsPerSecondPerUser,
} from "../capacity";
import { albLcus, fixedHourlyLines } from "../cost";
import { chooseNodes, type NodeOption, nodeOptions } from "../nodes";
import type { ScalingPolicy } from "../policy";
import { priceTableFor } from "../pricing";
import { HpaController, hpaSyncPeriodSeconds, type MetricObservation, replicasForMetric } from "./hpa";
import type { Scenario } from "./scenarios";

/** Metric pipeline timings (assumptions, from the components' defaults). */
export interface MetricPipeline {
  /** metrics-server scrapes kubelets every 15 s: a sample covers 15 s and is up to 15 s old. */
  resourceDelaySeconds: number;
  resourceWindowSeconds: number;
  /** Prometheus scrapes every 15 s; prometheus-adapter serves rate(...[1m]). */
  podsDelaySeconds: number;
  podsWindowSeconds: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period. */
  cpuInitializationSeconds: number;
}

export const defaultMetricPipeline: MetricPipeline = {
  resourceDelaySeconds: 15,
  resourceWindowSeconds: 15,
  podsDelaySeconds: 15,
  podsWindowSeconds: 60,
  cpuInitializationSeconds: 300,
};

export interface Sample {
  t: number;
  users: number;
  offeredRps: number;
  servedRps: number;
  /** Deployment replicas (spec) and pods ready to serve. */
  replicas: number;
  readyPods: number;
  requiredPods: number;
  nodes: number;
  cpuUtilizationPercent: number;
  p95Ms: number;
  costPerHour: number;
}

export interface SimulationResult {
  stack: string;
  scenario: Scenario;
  samples: Sample[];
  failedRequests: number;
  /** Seconds some pod waited because the NodePool's limits stopped Karpenter. */
  nodeLimitSeconds: number;
}

interface NodeState {
  zone: number;
  option: NodeOption;
  readyAt: number;
  pods: number;
  cordoned: boolean;
  lastChangeAt: number;
  /** When a cheaper replacement is ready and this node gets cordoned (replace consolidation). */
  replaceAt?: number;
}

interface PodState {
  zone: number;
  node?: NodeState;
  createdAt: number;
  /** When the container started (its node ready and the pod bound). */
  startedAt?: number;
  readyAt?: number;
}

const longAgo = -1e9;

/** A running simulation of one policy under one scenario. */
class Cluster {
  private readonly pods: PodState[] = [];
  private readonly nodes: NodeState[] = [];
  private readonly options: NodeOption[];
  nodeLimited = false;

  constructor(
    private readonly policy: ScalingPolicy,
    region: string,
  ) {
    this.options = nodeOptions(policy, region);
  }

  get replicas(): number {
    return this.pods.length;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  nodeCostPerHour(): number {
    return this.nodes.reduce((sum, node) => sum + node.option.pricePerHour, 0);
  }

  readyPods(now: number): PodState[] {
    return this.pods.filter((pod) => pod.readyAt !== undefined && pod.readyAt <= now);
  }

  allPods(): readonly PodState[] {
    return this.pods;
  }

  /** Start in a steady state: `count` pods ready on the nodes Karpenter would have launched. */
  warmStart(count: number): void {
    this.scaleTo(longAgo, count);
    this.schedule(longAgo);
    for (const node of this.nodes) node.readyAt = longAgo;
    this.startContainers(longAgo);
  }

  /** The Deployment's replicas changed: create pods (spread over zones) or delete the cheapest to lose. */
  scaleTo(now: number, replicas: number): void {
    while (this.pods.length < replicas) {
      const perZone = this.podsPerZone();
      const zone = perZone.indexOf(Math.min(...perZone));
      this.pods.push({ zone, createdAt: now });
    }
    if (this.pods.length > replicas) {
      // ReplicaSet victim order: unscheduled, then pending, then not ready, then pods sharing a node
      // with more replicas, then the newest.
      const rank = (pod: PodState) =>
        !pod.node
          ? 0
          : pod.startedAt === undefined
            ? 1
            : pod.readyAt === undefined || pod.readyAt > now
              ? 2
              : 3;
      const victims = [...this.pods]
        .sort(
          (a, b) =>
            rank(a) - rank(b) || (b.node?.pods ?? 0) - (a.node?.pods ?? 0) || b.createdAt - a.createdAt,
        )
        .slice(0, this.pods.length - replicas);
      for (const pod of victims) this.remove(now, pod);
    }
  }

  private podsPerZone(): number[] {
    const counts = new Array<number>(this.policy.availabilityZones).fill(0);
    for (const pod of this.pods) counts[pod.zone]++;
    return counts;
  }

  private remove(now: number, pod: PodState): void {
    this.pods.splice(this.pods.indexOf(pod), 1);
    if (pod.node) {
      pod.node.pods--;
      pod.node.lastChangeAt = now;
    }
  }

  /** The scheduler binds pods to nodes with room in their zone; Karpenter launches nodes for the rest. */
  schedule(now: number): void {
    const unbound = this.pods.filter((pod) => !pod.node);
    const stillPending: PodState[] = [];
    for (const pod of unbound) {
      const candidates = this.nodes.filter(
        (n) => n.zone === pod.zone && !n.cordoned && n.pods < n.option.slots,
      );
      // kube-scheduler's LeastAllocated scoring; ready nodes before ones still launching.
      candidates.sort((a, b) => Number(a.readyAt > now) - Number(b.readyAt > now) || a.pods - b.pods);
      const node = candidates[0];
      if (node) this.bind(now, pod, node);
      else stillPending.push(pod);
    }
    this.nodeLimited = false;
    for (let zone = 0; zone < this.policy.availabilityZones; zone++) {
      const pending = stillPending.filter((pod) => pod.zone === zone);
      if (pending.length === 0) continue;
      for (const option of chooseNodes(this.options, pending.length)) {
        if (!this.withinLimits(option)) {
          this.nodeLimited = true;
          break;
        }
        const node: NodeState = {
          zone,
          option,
          readyAt: now + this.policy.nodes.karpenter.provisioningSeconds,
          pods: 0,
          cordoned: false,
          lastChangeAt: now,
        };
        this.nodes.push(node);
        for (const pod of pending.splice(0, option.slots)) this.bind(now, pod, node);
      }
    }
  }

  private withinLimits(...launching: NodeOption[]): boolean {
    const { cpuLimitCores, memoryLimitGiB } = this.policy.nodes.karpenter;
    const all = [...this.nodes.map((n) => n.option), ...launching];
    const cpu = all.reduce((sum, o) => sum + o.vcpu, 0);
    const memory = all.reduce((sum, o) => sum + o.memoryGiB, 0);
    return cpu <= cpuLimitCores && memory <= memoryLimitGiB;
  }

  private bind(now: number, pod: PodState, node: NodeState): void {
    pod.node = node;
    node.pods++;
    node.lastChangeAt = now;
  }

  /** Containers start once their node is ready and pass readiness `startupSeconds` later. */
  startContainers(now: number): void {
    for (const pod of this.pods) {
      if (pod.node && pod.startedAt === undefined && pod.node.readyAt <= now) {
        pod.startedAt = Math.max(pod.createdAt, pod.node.readyAt);
        pod.readyAt = pod.startedAt + (pod.createdAt === longAgo ? 0 : this.policy.pods.startupSeconds);
      }
    }
  }

  /**
   * Karpenter consolidation (WhenEmptyOrUnderutilized): a node empty, or whose pods fit on the other
   * nodes of its zone, for consolidateAfter is cordoned and drained one pod at a time as the PDB
   * allows (the ReplicaSet recreates each evicted pod elsewhere); an empty cordoned node is removed.
   * Failing that, a zone's nodes may be replaced by fewer, cheaper ones.
   */
  consolidate(now: number): void {
    const { consolidateAfterSeconds } = this.policy.nodes.karpenter;
    for (const node of [...this.nodes]) {
      if (node.pods === 0 && (node.cordoned || now - node.lastChangeAt >= consolidateAfterSeconds)) {
        this.nodes.splice(this.nodes.indexOf(node), 1);
      }
    }
    for (const node of this.nodes)
      if (node.replaceAt !== undefined && node.replaceAt <= now) node.cordoned = true;
    if (this.nodes.some((node) => node.cordoned)) {
      this.drainOne(now);
      return;
    }
    if (this.nodes.some((node) => node.replaceAt !== undefined)) return;
    const settled = this.nodes.filter(
      (n) => n.readyAt <= now && now - n.lastChangeAt >= consolidateAfterSeconds,
    );
    for (const node of settled.sort((a, b) => a.pods - b.pods)) {
      const room = this.nodes
        .filter(
          (other) => other !== node && other.zone === node.zone && !other.cordoned && other.readyAt <= now,
        )
        .reduce((sum, other) => sum + other.option.slots - other.pods, 0);
      if (node.pods > 0 && node.pods <= room) {
        node.cordoned = true;
        this.drainOne(now);
        return;
      }
    }
    this.replaceWithCheaper(now);
  }

  /**
   * Multi-node replace consolidation: when a zone's settled nodes could be fewer, cheaper nodes,
   * Karpenter launches those and, once they are ready, drains the old ones onto them.
   */
  private replaceWithCheaper(now: number): void {
    const { consolidateAfterSeconds, provisioningSeconds } = this.policy.nodes.karpenter;
    for (let zone = 0; zone < this.policy.availabilityZones; zone++) {
      const zoneNodes = this.nodes.filter((n) => n.zone === zone);
      const unsettled = zoneNodes.some(
        (n) => n.readyAt > now || now - n.lastChangeAt < consolidateAfterSeconds,
      );
      if (zoneNodes.length < 2 || unsettled) continue;
      const pods = zoneNodes.reduce((sum, n) => sum + n.pods, 0);
      const replacement = chooseNodes(this.options, pods);
      const price = (options: NodeOption[]) => options.reduce((sum, o) => sum + o.pricePerHour, 0);
      const cheaper = price(replacement) < price(zoneNodes.map((n) => n.option));
      if (replacement.length >= zoneNodes.length || !cheaper || !this.withinLimits(...replacement)) continue;
      const readyAt = now + provisioningSeconds;
      for (const option of replacement) {
        this.nodes.push({
          zone,
          option,
          readyAt,
          pods: 0,
          cordoned: false,
          lastChangeAt: readyAt,
        });
      }
      for (const node of zoneNodes) node.replaceAt = readyAt;
      return;
    }
  }

  private drainOne(now: number): void {
    const ready = this.readyPods(now).length;
    const allowed = ready - (this.pods.length - this.policy.pdb.maxUnavailable);
    if (allowed <= 0) return;
    const victim = this.pods.find((pod) => pod.node?.cordoned);
    if (!victim) return;
    this.remove(now, victim);
    this.pods.push({ zone: victim.zone, createdAt: now });
  }
}

/** Per-step history the HPA's metric windows read from. */
class History {
  private readonly perPodRps: number[] = [];
  private readonly cpuPercent: number[] = [];

  constructor(
    private readonly step: number,
    private readonly start: number,
  ) {}

  push(perPodRps: number, cpuPercent: number): void {
    this.perPodRps.push(perPodRps);
    this.cpuPercent.push(cpuPercent);
  }

  private mean(series: number[], from: number, to: number): number | undefined {
    const first = Math.max(0, Math.ceil((from - this.start) / this.step));
    const last = Math.min(series.length - 1, Math.floor((to - this.start) / this.step) - 1);
    if (last < first) return undefined;
    let sum = 0;
    for (let i = first; i <= last; i++) sum += series[i];
    return sum / (last - first + 1);
  }

  rps(from: number, to: number): number | undefined {
    return this.mean(this.perPodRps, from, to);
  }

  cpu(from: number, to: number): number | undefined {
    return this.mean(this.cpuPercent, from, to);
  }
}

/** The HPA's view of CPU, memory and request rate at `now`. */
function observe(
  policy: ScalingPolicy,
  pods: readonly PodState[],
  history: History,
  now: number,
  pipeline: MetricPipeline,
): MetricObservation[] {
  const { hpa } = policy;
  const cpu: MetricObservation = {
    kind: "resource",
    target: hpa.targetCpuUtilizationPercent,
    values: [],
    unready: 0,
    missing: 0,
  };
  const memory: MetricObservation = {
    kind: "resource",
    target: hpa.targetMemoryUtilizationPercent,
    values: [],
    unready: 0,
    missing: 0,
  };
  const rate: MetricObservation = {
    kind: "pods",
    target: hpa.targetRequestsPerSecondPerPod,
    values: [],
    unready: 0,
    missing: 0,
  };
  const resourceEnd = now - pipeline.resourceDelaySeconds;
  const resourceStart = resourceEnd - pipeline.resourceWindowSeconds;
  const podsEnd = now - pipeline.podsDelaySeconds;
  for (const pod of pods) {
    if (pod.startedAt === undefined || pod.readyAt === undefined) {
      // Pending pods are set aside for every metric.
      cpu.unready++;
      memory.unready++;
      rate.unready++;
      continue;
    }
    const ready = pod.readyAt <= now;
    // CPU: a pod counts once ready and its sample was taken entirely while ready (within the
    // initialization period); otherwise it is set aside as not yet ready.
    const initializing = now - pod.startedAt < pipeline.cpuInitializationSeconds;
    const cpuSample = history.cpu(resourceStart, resourceEnd);
    if (!ready || (initializing && pod.readyAt > resourceStart) || cpuSample === undefined) cpu.unready++;
    else cpu.values.push(cpuSample);
    // Memory: any running pod with a sample.
    if (pod.startedAt > resourceEnd) memory.missing++;
    else {
      const servedRps = pod.readyAt <= resourceStart ? (history.rps(resourceStart, resourceEnd) ?? 0) : 0;
      const { baseMiB, miBPerRequestPerSecond } = policy.capacity.memory;
      const usedMiB = baseMiB + miBPerRequestPerSecond * servedRps;
      memory.values.push((100 * usedMiB) / policy.pods.memoryRequestMiB);
    }
    // Request rate: Prometheus scrapes only ready endpoints; the rate covers the pod's ready time.
    const rpsSample = history.rps(Math.max(podsEnd - pipeline.podsWindowSeconds, pod.readyAt), podsEnd);
    if (!ready || pod.readyAt > podsEnd || rpsSample === undefined) rate.missing++;
    else rate.values.push(rpsSample);
  }
  return [cpu, memory, rate];
}

export interface SimulationOptions {
  pipeline?: MetricPipeline;
  region?: string;
  /** Price the run (default true); without it costPerHour covers the app nodes only. */
  fixedCosts?: boolean;
}

export function simulate(
  policy: ScalingPolicy,
  scenario: Scenario,
  options: SimulationOptions = {},
): SimulationResult {
  const pipeline = options.pipeline ?? defaultMetricPipeline;
  const prices = priceTableFor(options.region);
  const step = scenario.stepSeconds;
  if (hpaSyncPeriodSeconds % step !== 0) {
    throw new Error(
      `scenario ${scenario.name}: step ${step}s must divide the HPA sync period (${hpaSyncPeriodSeconds}s)`,
    );
  }
  const fixedPerHour =
    options.fixedCosts === false
      ? 0
      : fixedHourlyLines(policy, prices).reduce((sum, line) => sum + line.monthlyUsd, 0) /
          prices.hoursPerMonth +
        prices.albPerHour;
  const cluster = new Cluster(policy, prices.region);
  cluster.warmStart(policy.pods.minReplicas);
  const hpa = new HpaController({
    minReplicas: policy.pods.minReplicas,
    maxReplicas: policy.pods.maxReplicas,
    behavior: { scaleUp: policy.hpa.scaleUp, scaleDown: policy.hpa.scaleDown },
  });
  const history = new History(step, 0);
  const serviceRate = podServiceRate(policy);
  const samples: Sample[] = [];
  let backlog = 0;
  let failedRequests = 0;
  let nodeLimitSeconds = 0;

  for (let t = 0; t < scenario.durationSeconds; t += step) {
    if (t > 0 && t % hpaSyncPeriodSeconds === 0) {
      const observations = observe(policy, cluster.allPods(), history, t, pipeline);
      const current = cluster.replicas;
      const desired = hpa.reconcile(
        t,
        current,
        observations.map((o) => replicasForMetric(current, o)),
      );
      cluster.scaleTo(t, desired);
    }
    cluster.schedule(t);
    cluster.startContainers(t);
    cluster.consolidate(t);
    cluster.schedule(t);
    if (cluster.nodeLimited) nodeLimitSeconds += step;

    const users = scenario.users(t);
    const offered = users * requestsPerSecondPerUser;
    const ready = cluster.readyPods(t).length;
    const capacity = ready * serviceRate;
    const work = backlog + offered * step;
    const served = Math.min(work, capacity * step);
    backlog = work - served;
    // The load balancer gives up on requests queued longer than the modelled cap.
    const maxBacklog = (capacity > 0 ? capacity : offered) * (maxModelledLatencyMs / 1000);
    if (backlog > maxBacklog) {
      failedRequests += backlog - maxBacklog;
      backlog = maxBacklog;
    }
    const perPodServed = ready > 0 ? served / step / ready : 0;
    const cpuPercent = (100 * perPodServed) / serviceRate;
    history.push(perPodServed, cpuPercent);
    const p95 =
      ready === 0
        ? maxModelledLatencyMs
        : podP95LatencyMs(policy, offered / ready, capacity > 0 ? backlog / capacity : 0);
    samples.push({
      t,
      users,
      offeredRps: offered,
      servedRps: served / step,
      replicas: cluster.replicas,
      readyPods: ready,
      requiredPods: replicasForSlo(policy, offered),
      nodes: cluster.nodeCount,
      cpuUtilizationPercent: cpuPercent,
      p95Ms: offered > 0 ? p95 : 0,
      costPerHour:
        fixedPerHour +
        cluster.nodeCostPerHour() +
        (fixedPerHour > 0 ? albLcus(offered) * prices.albLcuPerHour : 0),
    });
  }
  return { stack: policy.stack, scenario, samples, failedRequests, nodeLimitSeconds };
}
