import { describe, expect, it } from "vitest";
import { commonTags, naming, resourceName } from "./naming";

describe("naming", () => {
  it("names resources parley-<stack>-<parts>", () => {
    expect(resourceName("prod")).toBe("parley-prod");
    expect(resourceName("dev", "database", "replica", "0")).toBe("parley-dev-database-replica-0");
    expect(naming("prod", "cache").name("sg")).toBe("parley-prod-cache-sg");
  });

  it("rejects parts that would make an invalid or ambiguous name", () => {
    expect(() => resourceName("prod", "Database")).toThrow(
      'resource name part "Database" must be lower-case letters, digits and single hyphens',
    );
    expect(() => resourceName("prod", "a--b")).toThrow(/single hyphens/);
    expect(() => resourceName("prod", "")).toThrow(/single hyphens/);
  });

  it("tags with project, stack, component and managed-by, which extra tags cannot override", () => {
    expect(commonTags("dev", "network")).toEqual({
      project: "parley",
      stack: "dev",
      component: "network",
      "managed-by": "pulumi",
    });
    expect(naming("prod", "edge").tags({ Name: "x", project: "other" })).toEqual({
      Name: "x",
      project: "parley",
      stack: "prod",
      component: "edge",
      "managed-by": "pulumi",
    });
  });
});
