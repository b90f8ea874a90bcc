/** The ServiceMonitor that scrapes the app. */

/** Where the app's metrics are: its namespace, its Service and the Service's named port. */
export interface AppScrapeTarget {
  namespace: string;
  /** Prometheus Operator names the scrape job after the Service: it must be `scrapeJob` (`parley`). */
  serviceName: string;
  /** Labels that select the app's Service. */
  selector: Record<string, string>;
  portName: string;
}

export interface ServiceMonitorSpec {
  namespaceSelector: { matchNames: string[] };
  selector: { matchLabels: Record<string, string> };
  endpoints: Array<{ port: string; path: string; interval: string; scrapeTimeout: string }>;
}

export function serviceMonitorSpec(target: AppScrapeTarget): ServiceMonitorSpec {
  return {
    namespaceSelector: { matchNames: [target.namespace] },
    selector: { matchLabels: target.selector },
    endpoints: [{ port: target.portName, path: "/metrics", interval: "15s", scrapeTimeout: "10s" }],
  };
}
