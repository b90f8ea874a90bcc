/** ServiceMonitors: how Prometheus finds a Service's metrics endpoint. */

/** A Service to scrape: its namespace, the labels that select it and its named metrics port. */
export interface ScrapeTarget {
  namespace: string;
  selector: Record<string, string>;
  portName: string;
}

/** Where the app's metrics are. */
export interface AppScrapeTarget extends ScrapeTarget {
  /** Prometheus Operator names the scrape job after the Service: it must be `scrapeJob` (`parley`). */
  serviceName: string;
}

export interface ServiceMonitorSpec {
  namespaceSelector: { matchNames: string[] };
  selector: { matchLabels: Record<string, string> };
  endpoints: Array<{ port: string; path: string; interval: string; scrapeTimeout: string }>;
}

export function serviceMonitorSpec(target: ScrapeTarget): ServiceMonitorSpec {
  return {
    namespaceSelector: { matchNames: [target.namespace] },
    selector: { matchLabels: target.selector },
    endpoints: [{ port: target.portName, path: "/metrics", interval: "15s", scrapeTimeout: "10s" }],
  };
}
