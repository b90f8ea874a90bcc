/**
 * How a pod leaves without dropping requests. On termination the pod first sleeps in preStop while
 * the ALB and the endpoints controller stop sending it new requests; then SIGTERM makes /readyz
 * answer 503 and the app drains in-flight requests (SSE streams included) for up to
 * SHUTDOWN_GRACE_MS; the kubelet's grace period covers both with a margin.
 */
export const preStopSleepSeconds = 10;
export const shutdownGraceSeconds = 20;
const killMarginSeconds = 5;

export const terminationGracePeriodSeconds = preStopSleepSeconds + shutdownGraceSeconds + killMarginSeconds;

/** The ALB keeps open connections to a deregistering target this long: the whole drain. */
export const deregistrationDelaySeconds = preStopSleepSeconds + shutdownGraceSeconds;

/**
 * The ALB's idle timeout (the ELB default is 60 s: docs.aws.amazon.com/elasticloadbalancing, "Edit
 * attributes for your Application Load Balancer", Connection idle timeout): long enough for a
 * streamed (SSE) assistant reply between tokens.
 */
export const loadBalancerIdleTimeoutSeconds = 120;

/**
 * The app's keep-alive timeout (HTTP_KEEP_ALIVE_TIMEOUT_MS) outlasts the ALB's idle timeout, as the
 * same AWS page recommends: else the app may close a connection the ALB is sending a request on,
 * which the ALB answers with a 502.
 */
export const appKeepAliveTimeoutSeconds = loadBalancerIdleTimeoutSeconds + 5;
