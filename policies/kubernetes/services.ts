/**
 * Traffic enters the cluster through the ALB Ingress behind Cloudflare, never through a Service of
 * type LoadBalancer (which would open a second, unfiltered front door).
 */
import * as k8s from "@pulumi/kubernetes";
import { type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

export const noLoadBalancerService: ResourceValidationPolicy = {
  name: "k8s-no-loadbalancer-service",
  description: "No Service of type LoadBalancer: public traffic goes through the Ingress behind the CDN.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(k8s.core.v1.Service, (service, _args, reportViolation) => {
    if (service.spec?.type === "LoadBalancer") {
      reportViolation("spec.type is LoadBalancer; expose the Service through the Ingress instead.");
    }
  }),
};

export const servicePolicies = [noLoadBalancerService];
