/** Display of `parley_circuit_state` values, shared by the cache and AI dashboards. */
import { circuitStateValue } from "../../contracts/metrics";

export const circuitStateText = {
  [String(circuitStateValue.closed)]: { text: "closed", color: "green" },
  [String(circuitStateValue.halfOpen)]: { text: "half-open", color: "yellow" },
  [String(circuitStateValue.open)]: { text: "open", color: "red" },
};
