import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ensureBinaries } from "../../scripts/platform";
import { wrk } from "./load";
import { cloudflareOriginHeaders, cyclingRequests, mixedUser } from "./scripts";

const users = { tokens: ["t1", "t2", "t3"], conversations: ["c1", "c2", "c3"] };

/** Shares (%) of lists, messages and analytics reads over `count` requests from `first`, by `stepOf`. */
function shares(
  first: number,
  count: number,
  userCount: number,
  stepOf: (counter: number, user: number) => number,
) {
  const tally = [0, 0, 0];
  for (let counter = first + 1; counter <= first + count; counter++) {
    const step = stepOf(counter, (counter % userCount) + 1);
    tally[step < 3 ? 0 : step < 5 ? 1 : 2]! += 1;
  }
  return tally.map((n) => (100 * n) / count);
}

describe("bench wrk scripts", () => {
  it("number every run's requests (and so its questions) apart, per thread", () => {
    expect(mixedUser(users, 3)).toContain("counter = 30000000 + (thread_index or 0) * 7919");
    expect(mixedUser(users, 4)).toContain("counter = 40000000 + (thread_index or 0) * 7919");
    const cycling = (run: number) =>
      cyclingRequests({ ...users, path: "/api/x", method: "POST", body: (n) => `question ${n}` }, run);
    expect(cycling(7)).toContain("counter = 70000000 + (thread_index or 0) * 7919");
    expect(cycling(7)).toContain("string.format(body, counter)");
  });

  it("send the capacity's requests with the Accept-Encoding Cloudflare sends every origin, the scenarios' without", () => {
    // A space inside the brackets: `headers[[==[` would open a Lua long string (checked with wrk).
    expect(mixedUser(users, 1, cloudflareOriginHeaders)).toContain(
      "  headers[ [==[Accept-Encoding]==] ] = [==[br, gzip]==]\n",
    );
    expect(mixedUser(users, 1)).not.toContain("Accept-Encoding");
    expect(cyclingRequests({ ...users, path: "/api/x" }, 1)).not.toContain("Accept-Encoding");
  });

  it("desynchronise the mixed users: any 100 requests of 500 users are within 2 points of 3 : 2 : 1", () => {
    const desynchronised = "local step = (math.floor(counter / #tokens) + user) % 6";
    expect(mixedUser(users, 1)).toContain(desynchronised);
    const step = (counter: number, user: number) => (Math.floor(counter / 500) + user) % 6;
    for (let first = 10_000_000; first < 10_000_000 + 3_000; first += 37) {
      const [lists, messages, analytics] = shares(first, 100, 500, step);
      expect(Math.abs(lists! - 50), `from ${first}`).toBeLessThanOrEqual(2);
      expect(Math.abs(messages! - 100 / 3), `from ${first}`).toBeLessThanOrEqual(2);
      expect(Math.abs(analytics! - 100 / 6), `from ${first}`).toBeLessThanOrEqual(2);
    }
    // In lockstep (every user at step ⌊n / users⌋ mod 6, from 0 each run) the first 1500 are all lists.
    expect(shares(0, 1_499, 500, (counter) => Math.floor(counter / 500) % 6)).toEqual([100, 0, 0]);
  });

  it("send each user's own cursor where the path asks for one (run by wrk against a real server)", async () => {
    ensureBinaries(["wrk"], () => {});
    const seen = new Map<string, Set<string>>();
    const server = createServer((request, response) => {
      const url = new URL(request.url!, "http://x");
      const token = request.headers.authorization!.replace("Bearer ", "");
      const cursors = seen.get(token) ?? new Set<string>();
      cursors.add(`${url.pathname} ${url.searchParams.get("cursor")}`);
      seen.set(token, cursors);
      response.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const script = cyclingRequests(
        { ...users, cursors: ["k1", "k2", "k3"], path: "/api/conversations?limit=20&cursor={cursor}" },
        1,
      );
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await wrk({ url, script, connections: 2, durationMs: 1_000 });
      expect(result.errors).toBe(0);
      expect(Object.fromEntries([...seen].map(([token, cursors]) => [token, [...cursors]]))).toEqual({
        t1: ["/api/conversations k1"],
        t2: ["/api/conversations k2"],
        t3: ["/api/conversations k3"],
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
