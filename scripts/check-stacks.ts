/**
 * `npm run check:stacks`: plans every stack offline and checks them together (zone ownership, plan,
 * host scoping; policies/cross-stack/zone-ownership.ts). Exit 0 when they can share their zones, 1
 * with one line per problem otherwise.
 */
import { stackNames } from "../contracts/stacks";
import { crossStackIssues, loadStackPlan } from "../policies/cross-stack/zone-ownership";

async function main(): Promise<number> {
  const plans = [];
  for (const stack of stackNames) plans.push(await loadStackPlan(stack));
  const issues = crossStackIssues(plans);
  for (const issue of issues) console.error(`check:stacks: ${issue}`);
  if (issues.length > 0) return 1;
  console.log(
    `check:stacks: OK: stacks ${stackNames.join(", ")} share their Cloudflare zones without conflict.`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`check:stacks: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
