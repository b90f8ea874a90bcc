import { describe, expect, it } from "vitest";
import { rdsMaxConnections } from "./database";

describe("rdsMaxConnections", () => {
  it("is LEAST(DBInstanceClassMemory/9531392, 5000) for the class's memory", () => {
    expect(rdsMaxConnections("db.t4g.micro")).toBe(112); // 1 GiB
    expect(rdsMaxConnections("db.t4g.medium")).toBe(450); // 4 GiB
    expect(rdsMaxConnections("db.r7g.large")).toBe(1802); // 16 GiB
    expect(rdsMaxConnections("db.r7g.2xlarge")).toBe(5000); // 64 GiB → capped
  });

  it("names an unknown class", () => {
    expect(() => rdsMaxConnections("db.x9.huge")).toThrow(/unknown RDS instance class "db.x9.huge"/);
  });
});
