// negotiator 0.6.4 ships no types; the part used here (its README and lib/encoding.js): encoding(available,
// preferred) is the client's best among `available` by Accept-Encoding quality, ties broken by `preferred`.
declare module "negotiator" {
  import type { IncomingMessage } from "node:http";
  export default class Negotiator {
    constructor(request: IncomingMessage);
    encoding(available: string[], preferred?: string[]): string | undefined;
  }
}
