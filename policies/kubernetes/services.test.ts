import { describe, expect, it } from "vitest";
import { service } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { noLoadBalancerService } from "./services";

const type = "kubernetes:core/v1:Service";

describe("k8s-no-loadbalancer-service", () => {
  it("passes a ClusterIP Service", async () => {
    expect(await messages(noLoadBalancerService, [planned(type, service)])).toEqual([]);
  });

  it("a LoadBalancer Service", async () => {
    expect(
      await messages(noLoadBalancerService, [planned(type, mutate(service, "spec.type", "LoadBalancer"))]),
    ).toEqual(["spec.type is LoadBalancer; expose the Service through the Ingress instead."]);
  });
});
