/**
 * Cloudflare's published edge IP ranges: the only sources the public load balancer admits, and
 * (with the load balancer's subnets) the only proxies the app believes forwarding headers from.
 * Source: https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6
 * (also GET https://api.cloudflare.com/client/v4/ips). Recorded 2026-11-22 on a machine without
 * network access, from the list as last published.
 *
 * Checked on every real preview and update: the program compares this list with the provider's
 * `getIpRanges` (the same API) before declaring anything and stops, naming the ranges to add and to
 * remove, when they differ (infra/components/edge.ts, verifyCloudflareIpRanges). To refresh: take the
 * two lists from that message (or from the URLs above), replace the arrays below, set the date, and
 * run `npm run plan` for each stack. Cloudflare announces changes in advance.
 */
export const cloudflareIpRangesRecordedOn = "2026-11-22";

export const cloudflareIpv4Ranges: readonly string[] = [
  "173.245.48.0/20",
  "103.21.244.0/22",
  "103.22.200.0/22",
  "103.31.4.0/22",
  "141.101.64.0/18",
  "108.162.192.0/18",
  "190.93.240.0/20",
  "188.114.96.0/20",
  "197.234.240.0/22",
  "198.41.128.0/17",
  "162.158.0.0/15",
  "104.16.0.0/13",
  "104.24.0.0/14",
  "172.64.0.0/13",
  "131.0.72.0/22",
];

export const cloudflareIpv6Ranges: readonly string[] = [
  "2400:cb00::/32",
  "2606:4700::/32",
  "2803:f800::/32",
  "2405:b500::/32",
  "2405:8100::/32",
  "2a06:98c0::/29",
  "2c0f:f248::/32",
];
