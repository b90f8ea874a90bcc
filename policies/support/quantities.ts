/** Kubernetes resource quantities ("500m", "1.5", "512Mi", "1Gi") as the numbers the scaling policy uses. */

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const decimal: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

function parse(quantity: string | number): { value: number; suffix: string } {
  const match = /^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$/.exec(String(quantity).trim());
  if (!match) throw new Error(`"${quantity}" is not a Kubernetes quantity`);
  return { value: Number(match[1]), suffix: match[2]! };
}

export function cpuMillicores(quantity: string | number): number {
  const { value, suffix } = parse(quantity);
  if (suffix === "m") return value;
  if (suffix === "") return value * 1000;
  throw new Error(`"${quantity}" is not a CPU quantity (cores or millicores)`);
}

export function bytes(quantity: string | number): number {
  const { value, suffix } = parse(quantity);
  const factor = binary[suffix] ?? decimal[suffix];
  if (factor === undefined) throw new Error(`"${quantity}" is not a memory quantity`);
  return value * factor;
}

export const mebibytes = (quantity: string | number) => bytes(quantity) / 2 ** 20;
export const gibibytes = (quantity: string | number) => bytes(quantity) / 2 ** 30;
